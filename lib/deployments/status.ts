import { Prisma, type ReplicaPhase as DbPhase } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { emitWebhookEvent } from "@/lib/webhooks/emit";
import type { RequestContext } from "@/lib/auth/actor";
import type { AgentIdentity } from "@/lib/fleet/agent-channel";
import type { ReplicaStatus, StatusReport } from "@/lib/protocol/agent";
import { converge, lockDeployment } from "./converge";
import { addDeploymentEvent } from "./events";
import { closeLedgerEntries, openLedgerEntry } from "./ledger";
import { deploymentRoutesChanged } from "./route-changes";

const toDbPhase = (phase: ReplicaStatus["phase"]) => phase.toUpperCase() as DbPhase;

function changed(row: { phase: DbPhase; containerId: string | null; endpoint: string | null; restartCount: number; message: string | null; observedGeneration: number | null; progress: unknown }, status: ReplicaStatus) {
  return (
    row.phase !== toDbPhase(status.phase) ||
    row.containerId !== status.containerId ||
    row.endpoint !== status.endpoint ||
    row.restartCount !== status.restartCount ||
    row.message !== status.message ||
    row.observedGeneration !== status.observedGeneration ||
    JSON.stringify(row.progress ?? null) !== JSON.stringify(status.progress) ||
    status.logTail !== null
  );
}

/**
 * An agent's report of what runs on its host. Only this server's replicas
 * are touched (a report naming another server's replica is ignored, never
 * applied). Each deployment with news is handled in its own transaction,
 * under the deployment's lock, and converged afterwards, which is what moves
 * a rolling update on once a new replica is ready.
 */
export async function ingestStatusReport(options: { agent: AgentIdentity; report: StatusReport; request: RequestContext }): Promise<{ accepted: number }> {
  const { agent, report } = options;
  const rows = await getDb().replica.findMany({
    where: { serverId: agent.serverId },
    select: { id: true, deploymentId: true, phase: true, containerId: true, endpoint: true, restartCount: true, message: true, observedGeneration: true, progress: true, desired: true },
  });
  const reported = new Map(report.replicas.map((r) => [r.replicaId, r]));
  const news = new Set<string>();
  let accepted = 0;
  for (const row of rows) {
    const status = reported.get(row.id);
    if (status) accepted++;
    if (status ? changed(row, status) : !row.desired || row.containerId !== null) news.add(row.deploymentId);
  }
  for (const deploymentId of news) await applyToDeployment({ ...options, deploymentId, reported });
  if (report.observedGeneration !== null) {
    await getDb().server.updateMany({ where: { id: agent.serverId }, data: { observedGeneration: report.observedGeneration } });
  }
  return { accepted };
}

async function applyToDeployment(options: { agent: AgentIdentity; request: RequestContext; deploymentId: string; reported: Map<string, ReplicaStatus> }) {
  const { agent, reported } = options;
  const agentLabel = `agent on ${agent.serverName}`;
  let routesChanged = false;
  await getDb().$transaction(async (tx) => {
    await lockDeployment(tx, options.deploymentId);
    const deployment = await tx.deployment.findUnique({ where: { id: options.deploymentId }, select: { id: true, name: true } });
    if (!deployment) return;
    const replicas = await tx.replica.findMany({
      where: { deploymentId: deployment.id, serverId: agent.serverId },
      include: { modelVersion: { select: { id: true, label: true, sha256: true, model: { select: { name: true } } } } },
    });
    let phasesMoved = false;
    for (const replica of replicas) {
      const status = reported.get(replica.id);
      const name = `Replica ${replica.slot} on ${agent.serverName}`;
      if (!status) {
        if (!replica.desired) {
          // Gone from the host: the stop it was asked for is done.
          await tx.replica.delete({ where: { id: replica.id } });
          await closeLedgerEntries(tx, { replicaId: replica.id }, { by: replica.stopRequestedBy ?? agentLabel, reason: replica.stopReason ?? "stopped" });
          await addDeploymentEvent(tx, deployment.id, "replica.stopped", `${name}: stopped and removed`, replica, agent.serverName);
          routesChanged ||= replica.phase === "READY";
          phasesMoved = true;
        } else if (replica.containerId !== null) {
          await tx.replica.update({ where: { id: replica.id }, data: { phase: "PENDING", containerId: null, endpoint: null, hostPort: null, message: "The container disappeared from the host" } });
          await closeLedgerEntries(tx, { replicaId: replica.id }, { by: agentLabel, reason: "container disappeared from the host" });
          await addDeploymentEvent(tx, deployment.id, "replica.lost", `${name}: its container disappeared; the agent recreates it`, replica, agent.serverName);
          routesChanged ||= replica.phase === "READY";
          phasesMoved = true;
        }
        continue;
      }
      const phase = toDbPhase(status.phase);
      if (replica.containerId !== status.containerId) {
        if (replica.containerId) {
          await closeLedgerEntries(
            tx,
            { replicaId: replica.id, containerId: replica.containerId },
            { by: agentLabel, reason: status.containerId ? "container replaced by the agent" : "container removed by the agent" },
          );
        }
        if (status.containerId) {
          await openLedgerEntry(tx, {
            deploymentId: deployment.id,
            deploymentName: deployment.name,
            replicaId: replica.id,
            serverId: agent.serverId,
            serverName: agent.serverName,
            modelName: replica.modelVersion.model.name,
            modelVersionId: replica.modelVersion.id,
            modelVersionLabel: replica.modelVersion.label,
            sha256: replica.modelVersion.sha256,
            containerId: status.containerId,
            startedAt: new Date(),
            startedBy: replica.restartCount === 0 && !replica.containerId ? replica.requestedBy : agentLabel,
          });
        }
      }
      if (phase !== replica.phase) {
        phasesMoved = true;
        routesChanged ||= phase === "READY" || replica.phase === "READY";
        const detail = status.message && (phase === "FAILED" || phase === "UNHEALTHY") ? `: ${status.message.split("\n")[0]!.slice(0, 300)}` : "";
        await addDeploymentEvent(tx, deployment.id, `replica.${status.phase}`, `${name}: ${status.phase}${detail}`, replica, agent.serverName);
        if (phase === "FAILED") {
          await recordAuditEvent(tx, {
            actor: { kind: "AGENT", id: agent.serverId, label: agentLabel },
            request: options.request,
            action: "deployment.replica_failed",
            target: { kind: "deployment", id: deployment.id, label: deployment.name },
            details: { replica: replica.id, slot: replica.slot, server: agent.serverName, restarts: status.restartCount, message: (status.message ?? "").slice(0, 1000) },
          });
          await emitWebhookEvent(tx, "replica.failed", {
            deployment: { id: deployment.id, name: deployment.name },
            replica: { id: replica.id, slot: replica.slot },
            server: { id: agent.serverId, name: agent.serverName },
            model: { name: replica.modelVersion.model.name, version: replica.modelVersion.label },
            restarts: status.restartCount,
            message: (status.message ?? "").slice(0, 1000),
          });
        }
      }
      routesChanged ||= status.endpoint !== replica.endpoint && phase === "READY";
      await tx.replica.update({
        where: { id: replica.id },
        data: {
          phase,
          containerId: status.containerId,
          endpoint: status.endpoint,
          hostPort: status.hostPort,
          restartCount: status.restartCount,
          message: status.message,
          observedGeneration: status.observedGeneration,
          progress: status.progress === null ? Prisma.DbNull : (status.progress as Prisma.InputJsonObject),
          ...(status.logTail ? { logTail: status.logTail } : {}),
          ...(phase === "READY" && replica.phase !== "READY" ? { readyAt: new Date() } : {}),
        },
      });
    }
    if (phasesMoved) {
      const result = await converge(tx, deployment.id, { strict: false });
      routesChanged ||= result.routesChanged;
    }
  });
  if (routesChanged) deploymentRoutesChanged(options.deploymentId);
}
