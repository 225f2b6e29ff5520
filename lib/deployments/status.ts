import type { ReplicaPhase as DbPhase } from "@prisma/client";
import { pooledSql, sqlTransaction } from "@/lib/db/sql";
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

type ReportedRow = { id: string; deploymentId: string; phase: DbPhase; containerId: string | null; endpoint: string | null; restartCount: number; message: string | null; observedGeneration: number | null; progress: unknown; desired: boolean };

function changed(row: ReportedRow, status: ReplicaStatus) {
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
 * a rolling update on once a new replica is ready. Plain SQL (lib/db/sql.ts):
 * a replica's readiness reaches the gateway when this commits.
 */
export async function ingestStatusReport(options: { agent: AgentIdentity; report: StatusReport; request: RequestContext }): Promise<{ accepted: number }> {
  const { agent, report } = options;
  const rows = await pooledSql().query<ReportedRow>(
    `SELECT id, deployment_id AS "deploymentId", phase, container_id AS "containerId", endpoint, restart_count AS "restartCount", message,
            observed_generation AS "observedGeneration", progress, desired
       FROM replicas WHERE server_id = $1::uuid`,
    [agent.serverId],
  );
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
    await pooledSql().query("UPDATE servers SET observed_generation = $2::int WHERE id = $1::uuid", [agent.serverId, report.observedGeneration]);
  }
  return { accepted };
}

type AppliedReplica = {
  id: string;
  slot: number;
  desired: boolean;
  phase: DbPhase;
  containerId: string | null;
  endpoint: string | null;
  restartCount: number;
  requestedBy: string;
  stopRequestedBy: string | null;
  stopReason: string | null;
  modelVersionId: string;
  versionLabel: string;
  sha256: string;
  modelName: string;
};

async function applyToDeployment(options: { agent: AgentIdentity; request: RequestContext; deploymentId: string; reported: Map<string, ReplicaStatus> }) {
  const { agent, reported } = options;
  const agentLabel = `agent on ${agent.serverName}`;
  let routesChanged = false;
  await sqlTransaction(async (sql) => {
    await lockDeployment(sql, options.deploymentId);
    // This server's replicas of the deployment, with its name (none: the deployment is gone, or has nothing here any more).
    const replicas = await sql.query<AppliedReplica & { deploymentName: string }>(
      `SELECT rep.id, rep.slot, rep.desired, rep.phase, rep.container_id AS "containerId", rep.endpoint, rep.restart_count AS "restartCount",
              rep.requested_by AS "requestedBy", rep.stop_requested_by AS "stopRequestedBy", rep.stop_reason AS "stopReason",
              v.id AS "modelVersionId", v.label AS "versionLabel", v.sha256, m.name AS "modelName", d.name AS "deploymentName"
         FROM replicas rep JOIN deployments d ON d.id = rep.deployment_id
         JOIN model_versions v ON v.id = rep.model_version_id JOIN models m ON m.id = v.model_id
        WHERE rep.deployment_id = $1::uuid AND rep.server_id = $2::uuid
        ORDER BY rep.slot, rep.created_at, rep.id`,
      [options.deploymentId, agent.serverId],
    );
    if (replicas.length === 0) return;
    const deployment = { id: options.deploymentId, name: replicas[0]!.deploymentName };
    let phasesMoved = false;
    for (const replica of replicas) {
      const status = reported.get(replica.id);
      const name = `Replica ${replica.slot} on ${agent.serverName}`;
      if (!status) {
        if (!replica.desired) {
          // Gone from the host: the stop it was asked for is done.
          await sql.query("DELETE FROM replicas WHERE id = $1::uuid", [replica.id]);
          await closeLedgerEntries(sql, { replicaId: replica.id }, { by: replica.stopRequestedBy ?? agentLabel, reason: replica.stopReason ?? "stopped" });
          await addDeploymentEvent(sql, deployment.id, "replica.stopped", `${name}: stopped and removed`, replica, agent.serverName);
          routesChanged ||= replica.phase === "READY";
          phasesMoved = true;
        } else if (replica.containerId !== null) {
          await sql.query(
            "UPDATE replicas SET phase = 'PENDING', container_id = NULL, endpoint = NULL, host_port = NULL, message = $2, updated_at = now() WHERE id = $1::uuid",
            [replica.id, "The container disappeared from the host"],
          );
          await closeLedgerEntries(sql, { replicaId: replica.id }, { by: agentLabel, reason: "container disappeared from the host" });
          await addDeploymentEvent(sql, deployment.id, "replica.lost", `${name}: its container disappeared; the agent recreates it`, replica, agent.serverName);
          routesChanged ||= replica.phase === "READY";
          phasesMoved = true;
        }
        continue;
      }
      const phase = toDbPhase(status.phase);
      if (replica.containerId !== status.containerId) {
        if (replica.containerId) {
          await closeLedgerEntries(
            sql,
            { replicaId: replica.id, containerId: replica.containerId },
            { by: agentLabel, reason: status.containerId ? "container replaced by the agent" : "container removed by the agent" },
          );
        }
        if (status.containerId) {
          await openLedgerEntry(sql, {
            deploymentId: deployment.id,
            deploymentName: deployment.name,
            replicaId: replica.id,
            serverId: agent.serverId,
            serverName: agent.serverName,
            modelName: replica.modelName,
            modelVersionId: replica.modelVersionId,
            modelVersionLabel: replica.versionLabel,
            sha256: replica.sha256,
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
        await addDeploymentEvent(sql, deployment.id, `replica.${status.phase}`, `${name}: ${status.phase}${detail}`, replica, agent.serverName);
        if (phase === "FAILED") {
          await recordAuditEvent(sql, {
            actor: { kind: "AGENT", id: agent.serverId, label: agentLabel },
            request: options.request,
            action: "deployment.replica_failed",
            target: { kind: "deployment", id: deployment.id, label: deployment.name },
            details: { replica: replica.id, slot: replica.slot, server: agent.serverName, restarts: status.restartCount, message: (status.message ?? "").slice(0, 1000) },
          });
          await emitWebhookEvent(sql, "replica.failed", {
            deployment: { id: deployment.id, name: deployment.name },
            replica: { id: replica.id, slot: replica.slot },
            server: { id: agent.serverId, name: agent.serverName },
            model: { name: replica.modelName, version: replica.versionLabel },
            restarts: status.restartCount,
            message: (status.message ?? "").slice(0, 1000),
          });
        }
      }
      routesChanged ||= status.endpoint !== replica.endpoint && phase === "READY";
      await sql.query(
        `UPDATE replicas
            SET phase = $2::"ReplicaPhase", container_id = $3, endpoint = $4, host_port = $5::int, restart_count = $6::int, message = $7,
                observed_generation = $8::int, progress = $9::jsonb, log_tail = COALESCE($10::text[], log_tail),
                ready_at = CASE WHEN $11::boolean THEN now() ELSE ready_at END, updated_at = now()
          WHERE id = $1::uuid`,
        [
          replica.id,
          phase,
          status.containerId,
          status.endpoint,
          status.hostPort,
          status.restartCount,
          status.message,
          status.observedGeneration,
          status.progress === null ? null : JSON.stringify(status.progress),
          status.logTail,
          phase === "READY" && replica.phase !== "READY",
        ],
      );
    }
    if (phasesMoved) {
      const result = await converge(sql, deployment.id, { strict: false });
      routesChanged ||= result.routesChanged;
    }
  });
  if (routesChanged) deploymentRoutesChanged(options.deploymentId);
}
