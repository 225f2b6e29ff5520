import { randomUUID } from "node:crypto";
import type { ArtifactFormat, DeploymentDesiredState, ReplicaPhase, ServerAdminState } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import { BerthError } from "@/lib/http/errors";
import { bumpGeneration } from "@/lib/fleet/agent-channel";
import { eligibleServers, pickServer, type Placement, type PlacementServer, type Resources } from "./placement";
import { replicaSpec, specHash } from "./spec";
import { addDeploymentEvent } from "./events";
import { emitWebhookEvent } from "@/lib/webhooks/emit";
import type { RuntimeContainerColumns } from "./runtimes";

export type ConvergeCause = {
  /**
   * A person's action refuses when a replica cannot be placed; a status
   * report from an agent must not fail for it, so it records an event instead.
   */
  strict: boolean;
};

export type ConvergeResult = { deleted: boolean; routesChanged: boolean };

/** Serialises everything that changes one deployment's replicas (user actions and agent reports). */
export async function lockDeployment(tx: Tx | Sql, deploymentId: string): Promise<void> {
  await asSql(tx).query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text", [`deployment:${deploymentId}`]);
}

type ConvergeDeployment = {
  id: string;
  modelVersionId: string;
  replicas: number;
  placement: Placement;
  cpus: number | null;
  memoryBytes: number | null;
  gpus: number;
  env: Record<string, string>;
  desiredState: DeploymentDesiredState;
  generation: number;
  finishedGeneration: number | null;
  name: string;
  updatedBy: string;
  runtime: RuntimeContainerColumns;
  sha256: string;
  sizeBytes: number;
  format: ArtifactFormat;
  versionLabel: string;
  modelName: string;
};

type ConvergeReplica = { id: string; serverId: string; slot: number; specHash: string; phase: ReplicaPhase; desired: boolean; server: { name: string; adminState: ServerAdminState } };

/**
 * The control plane's half of reconciliation: makes the deployment's replica
 * rows match its spec, one step at a time, and is safe to run at any moment
 * (after every change and every agent report). Rolling updates surge by one:
 * a slot whose replica runs an old spec gets a new replica beside it; the old
 * one leaves rotation only once the new one is ready. Servers whose set of
 * desired replicas changed get their generation bumped, which wakes their
 * agents' long-polls. Starts and stops are attributed to whoever changed the
 * deployment last (updatedBy), also when an agent's report moves the rollout
 * on. Call with the deployment locked (lockDeployment). Plain SQL (lib/db/sql.ts):
 * it runs in every deployment change and every agent report that moves a phase.
 */
export async function converge(tx: Tx | Sql, deploymentId: string, cause: ConvergeCause): Promise<ConvergeResult> {
  const sql = asSql(tx);
  const [deployment] = await sql.query<ConvergeDeployment>(
    `SELECT d.id, d.model_version_id AS "modelVersionId", d.replicas, d.placement, d.cpus, d.memory_bytes::float8 AS "memoryBytes", d.gpus, d.env,
            d.desired_state AS "desiredState", d.generation, d.finished_generation AS "finishedGeneration", d.name, d.updated_by AS "updatedBy",
            v.sha256, v.size_bytes::float8 AS "sizeBytes", v.format, v.label AS "versionLabel", m.name AS "modelName",
            json_build_object('name', r.name, 'image', r.image, 'source', r.source, 'containerPort', r.container_port, 'readinessPath', r.readiness_path,
                              'protocol', r.protocol, 'modelMountPath', r.model_mount_path, 'args', r.args, 'env', r.env) AS runtime
       FROM deployments d JOIN model_versions v ON v.id = d.model_version_id JOIN models m ON m.id = v.model_id JOIN runtimes r ON r.id = d.runtime_id
      WHERE d.id = $1::uuid`,
    [deploymentId],
  );
  if (!deployment) return { deleted: true, routesChanged: false };
  const rows = await sql.query<Omit<ConvergeReplica, "server"> & { serverName: string; serverAdminState: ServerAdminState }>(
    `SELECT rep.id, rep.server_id AS "serverId", rep.slot, rep.spec_hash AS "specHash", rep.phase, rep.desired, s.name AS "serverName", s.admin_state AS "serverAdminState"
       FROM replicas rep JOIN servers s ON s.id = rep.server_id
      WHERE rep.deployment_id = $1::uuid
      ORDER BY rep.slot, rep.created_at, rep.id`,
    [deploymentId],
  );
  const replicaRows: ConvergeReplica[] = rows.map(({ serverName, serverAdminState, ...r }) => ({ ...r, server: { name: serverName, adminState: serverAdminState } }));
  const touched = new Set<string>();
  let routesChanged = false;
  const desired = replicaRows.filter((r) => r.desired);
  // Replicas of this deployment per server, for spreading new ones.
  const perServer = new Map<string, number>();
  for (const replica of desired) perServer.set(replica.serverId, (perServer.get(replica.serverId) ?? 0) + 1);

  const retire = async (replica: ConvergeReplica, reason: string) => {
    perServer.set(replica.serverId, (perServer.get(replica.serverId) ?? 1) - 1);
    await sql.query("UPDATE replicas SET desired = false, stop_requested_by = $2, stop_reason = $3, updated_at = now() WHERE id = $1::uuid", [replica.id, deployment.updatedBy, reason]);
    touched.add(replica.serverId);
    if (replica.phase === "READY") routesChanged = true;
    await addDeploymentEvent(sql, deployment.id, "replica.stop", `Replica ${replica.slot} on ${replica.server.name}: stopping (${reason})`, replica);
  };

  if (deployment.desiredState !== "RUNNING") {
    const reason = deployment.desiredState === "STOPPED" ? "deployment stopped" : "deployment deleted";
    for (const replica of desired) await retire(replica, reason);
    if (deployment.desiredState === "DELETING" && replicaRows.length === 0) {
      await sql.query("DELETE FROM deployments WHERE id = $1::uuid", [deployment.id]);
      return { deleted: true, routesChanged: true };
    }
    for (const serverId of touched) await bumpGeneration(sql, serverId);
    return { deleted: false, routesChanged };
  }

  const resources: Resources = { cpus: deployment.cpus, memoryBytes: deployment.memoryBytes, gpus: deployment.gpus };
  const version = { sha256: deployment.sha256, sizeBytes: deployment.sizeBytes, format: deployment.format, model: { name: deployment.modelName } };
  const spec = replicaSpec({ version, runtime: deployment.runtime, resources, env: deployment.env });
  const hash = specHash(spec);

  let candidates: PlacementServer[] | undefined;
  let placementRefusal: string | undefined;
  const overall = new Map<string, number>();

  const place = async (slot: number, preferServerId?: string): Promise<PlacementServer | null> => {
    if (candidates === undefined && placementRefusal === undefined) {
      try {
        candidates = await eligibleServers(sql, deployment.placement, resources);
        const counts = await sql.query<{ serverId: string; count: number }>(
          `SELECT server_id AS "serverId", count(*)::int AS count FROM replicas WHERE desired AND server_id = ANY($1::uuid[]) GROUP BY server_id`,
          [candidates.map((s) => s.id)],
        );
        for (const row of counts) overall.set(row.serverId, row.count);
      } catch (error) {
        if (cause.strict || !(error instanceof BerthError)) throw error;
        placementRefusal = error.message;
      }
    }
    if (!candidates) {
      await addDeploymentEvent(sql, deployment.id, "replica.unplaced", `Replica ${slot} waits for a server: ${placementRefusal}`);
      return null;
    }
    const server = pickServer(candidates, perServer, overall, preferServerId);
    perServer.set(server.id, (perServer.get(server.id) ?? 0) + 1);
    overall.set(server.id, (overall.get(server.id) ?? 0) + 1);
    return server;
  };

  const start = async (slot: number, server: PlacementServer, why: string) => {
    const created = { id: randomUUID() };
    await sql.query(
      `INSERT INTO replicas (id, deployment_id, server_id, slot, model_version_id, spec, spec_hash, generation, requested_by, updated_at)
       VALUES ($1::uuid, $2::uuid, $3::uuid, $4::int, $5::uuid, $6::jsonb, $7, $8::int, $9, now())`,
      [created.id, deployment.id, server.id, slot, deployment.modelVersionId, JSON.stringify(spec), hash, deployment.generation, deployment.updatedBy],
    );
    touched.add(server.id);
    await addDeploymentEvent(sql, deployment.id, "replica.start", `Replica ${slot} on ${server.name}: ${why} (${deployment.modelName}@${deployment.versionLabel})`, created, server.name);
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
      for (const old of outdated) await retire(old, `replaced by ${deployment.modelName}@${deployment.versionLabel}`);
    }
  }

  // Every slot has a ready replica on the current spec (outdated ones are on their way out):
  // this generation is rolled out. Announced once per generation.
  if (deployment.replicas > 0 && deployment.finishedGeneration !== deployment.generation) {
    let finished = true;
    for (let slot = 0; slot < deployment.replicas && finished; slot++) finished = (bySlot.get(slot) ?? []).some((r) => r.specHash === hash && r.phase === "READY");
    if (finished) {
      const model = { name: deployment.modelName, version: deployment.versionLabel };
      await sql.query("UPDATE deployments SET finished_generation = $2 WHERE id = $1::uuid", [deployment.id, deployment.generation]);
      await addDeploymentEvent(sql, deployment.id, "deployment.finished", `Rolled out: ${deployment.replicas} of ${deployment.replicas} replicas ready (${model.name}@${model.version}, generation ${deployment.generation})`);
      await emitWebhookEvent(sql, "deployment.finished", {
        deployment: { id: deployment.id, name: deployment.name },
        generation: deployment.generation,
        replicas: deployment.replicas,
        model,
        runtime: deployment.runtime.name,
        updatedBy: deployment.updatedBy,
      });
    }
  }

  for (const serverId of touched) await bumpGeneration(sql, serverId);
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
