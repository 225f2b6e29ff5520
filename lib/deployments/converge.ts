import type { Prisma, Replica, Server } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { bumpGeneration } from "@/lib/fleet/agent-channel";
import { eligibleServers, pickServer, type Placement, type Resources } from "./placement";
import { replicaSpec, specHash } from "./spec";
import { addDeploymentEvent } from "./events";
import { emitWebhookEvent } from "@/lib/webhooks/emit";

export type ConvergeCause = {
  /**
   * A person's action refuses when a replica cannot be placed; a status
   * report from an agent must not fail for it, so it records an event instead.
   */
  strict: boolean;
};

export type ConvergeResult = { deleted: boolean; routesChanged: boolean };

/** Serialises everything that changes one deployment's replicas (user actions and agent reports). */
export async function lockDeployment(tx: Tx, deploymentId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`deployment:${deploymentId}`}, 0))`;
}

/**
 * The control plane's half of reconciliation: makes the deployment's replica
 * rows match its spec, one step at a time, and is safe to run at any moment
 * (after every change and every agent report). Rolling updates surge by one:
 * a slot whose replica runs an old spec gets a new replica beside it; the old
 * one leaves rotation only once the new one is ready. Servers whose set of
 * desired replicas changed get their generation bumped, which wakes their
 * agents' long-polls. Starts and stops are attributed to whoever changed the
 * deployment last (updatedBy), also when an agent's report moves the rollout
 * on. Call with the deployment locked (lockDeployment).
 */
export async function converge(tx: Tx, deploymentId: string, cause: ConvergeCause): Promise<ConvergeResult> {
  const deployment = await tx.deployment.findUnique({
    where: { id: deploymentId },
    include: { runtime: true, modelVersion: { include: { model: { select: { name: true } } } }, replicaRows: { include: { server: { select: { name: true, adminState: true } } } } },
  });
  if (!deployment) return { deleted: true, routesChanged: false };
  const touched = new Set<string>();
  let routesChanged = false;
  const desired = deployment.replicaRows.filter((r) => r.desired);
  // Replicas of this deployment per server, for spreading new ones.
  const perServer = new Map<string, number>();
  for (const replica of desired) perServer.set(replica.serverId, (perServer.get(replica.serverId) ?? 0) + 1);

  const retire = async (replica: Replica & { server: { name: string } }, reason: string) => {
    perServer.set(replica.serverId, (perServer.get(replica.serverId) ?? 1) - 1);
    await tx.replica.update({ where: { id: replica.id }, data: { desired: false, stopRequestedBy: deployment.updatedBy, stopReason: reason } });
    touched.add(replica.serverId);
    if (replica.phase === "READY") routesChanged = true;
    await addDeploymentEvent(tx, deployment.id, "replica.stop", `Replica ${replica.slot} on ${replica.server.name}: stopping (${reason})`, replica);
  };

  if (deployment.desiredState !== "RUNNING") {
    const reason = deployment.desiredState === "STOPPED" ? "deployment stopped" : "deployment deleted";
    for (const replica of desired) await retire(replica, reason);
    if (deployment.desiredState === "DELETING" && deployment.replicaRows.length === 0) {
      await tx.deployment.delete({ where: { id: deployment.id } });
      return { deleted: true, routesChanged: true };
    }
    for (const serverId of touched) await bumpGeneration(tx, serverId);
    return { deleted: false, routesChanged };
  }

  const resources: Resources = { cpus: deployment.cpus, memoryBytes: deployment.memoryBytes === null ? null : Number(deployment.memoryBytes), gpus: deployment.gpus };
  const spec = replicaSpec({ version: deployment.modelVersion, runtime: deployment.runtime, resources, env: deployment.env as Record<string, string> });
  const hash = specHash(spec);

  let candidates: Server[] | undefined;
  let placementRefusal: string | undefined;
  const overall = new Map<string, number>();

  const place = async (slot: number, preferServerId?: string): Promise<Server | null> => {
    if (candidates === undefined && placementRefusal === undefined) {
      try {
        candidates = await eligibleServers(tx, deployment.placement as Placement, resources);
        const counts = await tx.replica.groupBy({ by: ["serverId"], where: { desired: true, serverId: { in: candidates.map((s) => s.id) } }, _count: true });
        for (const row of counts) overall.set(row.serverId, row._count);
      } catch (error) {
        if (cause.strict || !(error instanceof BerthError)) throw error;
        placementRefusal = error.message;
      }
    }
    if (!candidates) {
      await addDeploymentEvent(tx, deployment.id, "replica.unplaced", `Replica ${slot} waits for a server: ${placementRefusal}`);
      return null;
    }
    const server = pickServer(candidates, perServer, overall, preferServerId);
    perServer.set(server.id, (perServer.get(server.id) ?? 0) + 1);
    overall.set(server.id, (overall.get(server.id) ?? 0) + 1);
    return server;
  };

  const start = async (slot: number, server: Server, why: string) => {
    const created = await tx.replica.create({
      data: {
        deploymentId: deployment.id,
        serverId: server.id,
        slot,
        modelVersionId: deployment.modelVersionId,
        spec: spec as unknown as Prisma.InputJsonObject,
        specHash: hash,
        generation: deployment.generation,
        requestedBy: deployment.updatedBy,
      },
    });
    touched.add(server.id);
    await addDeploymentEvent(tx, deployment.id, "replica.start", `Replica ${slot} on ${server.name}: ${why} (${deployment.modelVersion.model.name}@${deployment.modelVersion.label})`, created, server.name);
  };

  const bySlot = new Map<number, typeof desired>();
  for (const replica of desired.filter((r) => r.server.adminState === "DISABLED")) await retire(replica, `server ${replica.server.name} disabled`);
  for (const replica of desired.filter((r) => r.server.adminState !== "DISABLED")) bySlot.set(replica.slot, [...(bySlot.get(replica.slot) ?? []), replica]);

  // Scale down: the highest slots go first.
  for (const [slot, replicas] of bySlot) {
    if (slot >= deployment.replicas) for (const replica of replicas) await retire(replica, "scaled down");
  }

  let rolling = 0;
  for (let slot = 0; slot < deployment.replicas; slot++) {
    const replicas = bySlot.get(slot) ?? [];
    const current = replicas.filter((r) => r.specHash === hash);
    const outdated = replicas.filter((r) => r.specHash !== hash);
    if (current.length > 0 && outdated.length > 0 && !current.some((r) => r.phase === "READY")) rolling++;
  }

  for (let slot = 0; slot < deployment.replicas; slot++) {
    const replicas = bySlot.get(slot) ?? [];
    const current = replicas.filter((r) => r.specHash === hash);
    const outdated = replicas.filter((r) => r.specHash !== hash);
    for (const extra of current.slice(1)) await retire(extra, "duplicate replica");
    if (current.length === 0) {
      if (outdated.length === 0) {
        const server = await place(slot);
        if (server) await start(slot, server, "starting");
      } else if (rolling === 0) {
        // Surge by one: the new replica starts beside the old, on the same server when it still fits.
        const server = await place(slot, outdated[0]!.serverId);
        if (server) {
          await start(slot, server, "starting replacement (rolling update)");
          rolling++;
        }
      }
    } else if (outdated.length > 0 && current[0]!.phase === "READY") {
      for (const old of outdated) await retire(old, `replaced by ${deployment.modelVersion.model.name}@${deployment.modelVersion.label}`);
    }
  }

  // Every slot has a ready replica on the current spec (outdated ones are on their way out):
  // this generation is rolled out. Announced once per generation.
  if (deployment.replicas > 0 && deployment.finishedGeneration !== deployment.generation) {
    let finished = true;
    for (let slot = 0; slot < deployment.replicas && finished; slot++) finished = (bySlot.get(slot) ?? []).some((r) => r.specHash === hash && r.phase === "READY");
    if (finished) {
      const model = { name: deployment.modelVersion.model.name, version: deployment.modelVersion.label };
      await tx.deployment.update({ where: { id: deployment.id }, data: { finishedGeneration: deployment.generation } });
      await addDeploymentEvent(tx, deployment.id, "deployment.finished", `Rolled out: ${deployment.replicas} of ${deployment.replicas} replicas ready (${model.name}@${model.version}, generation ${deployment.generation})`);
      await emitWebhookEvent(tx, "deployment.finished", {
        deployment: { id: deployment.id, name: deployment.name },
        generation: deployment.generation,
        replicas: deployment.replicas,
        model,
        runtime: deployment.runtime.name,
        updatedBy: deployment.updatedBy,
      });
    }
  }

  for (const serverId of touched) await bumpGeneration(tx, serverId);
  return { deleted: false, routesChanged };
}

/**
 * After a server is disabled or removed (with `removedBy`, this deletes it):
 * every deployment with replicas on it moves them elsewhere. Locks in id order so two of these never deadlock.
 * Returns the deployments whose routes changed, to announce after commit.
 */
export async function reconvergeServer(tx: Tx, serverId: string, how: { removedBy?: string }): Promise<string[]> {
  const changed: string[] = [];
  const rows = await tx.replica.findMany({ where: { serverId }, select: { id: true, deploymentId: true, containerId: true } });
  const deploymentIds = [...new Set(rows.map((r) => r.deploymentId))].sort();
  for (const id of deploymentIds) await lockDeployment(tx, id);
  if (how.removedBy) {
    // The server goes, and its replica rows with it; what ran there is closed in the ledger now.
    await tx.ledgerEntry.updateMany({ where: { serverId, stoppedAt: null }, data: { stoppedAt: new Date(), stoppedBy: how.removedBy, stopReason: "server removed from Berth" } });
    await tx.server.delete({ where: { id: serverId } });
  }
  for (const id of deploymentIds) {
    const result = await converge(tx, id, { strict: false });
    if (result.routesChanged || how.removedBy) changed.push(id);
  }
  return changed;
}
