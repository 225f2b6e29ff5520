import type { Runtime } from "@prisma/client";
import { pooledSql } from "@/lib/db/sql";
import { createBatchedRead } from "@/lib/db/batched-read";
import type { Workload } from "@/lib/protocol/agent";
import { RUNTIME_COLUMNS, runtimeSpec } from "./runtimes";
import type { ReplicaSpec } from "./spec";

const holder = globalThis as unknown as { __berthWorkloads?: Map<string, { generation: number; workloads: Workload[] }> };
const cache = (holder.__berthWorkloads ??= new Map());

/**
 * What should run on one server at `generation`. Every change of a server's
 * workloads bumps its generation, so the answer is remembered per
 * (server, generation): the long-polls that end idle every 25 s cost no
 * query (bench/fleet measured ~400 of them a second at 10,000 agents). The
 * caller reads the generation first, so what is read is never older than it.
 */
export async function workloadsForServer(serverId: string, generation?: number): Promise<Workload[]> {
  const hit = cache.get(serverId);
  if (generation !== undefined && hit?.generation === generation) return hit.workloads;
  const workloads = (await readWorkloads(serverId)) ?? [];
  if (generation !== undefined) cache.set(serverId, { generation, workloads });
  return workloads;
}

/** Registry credentials ride in workloads without a generation bump: a runtime change forgets them all. */
export function forgetCachedWorkloads(): void {
  cache.clear();
}

/**
 * Each desired replica with the spec it was made with. Plain SQL (lib/db/sql.ts):
 * a woken long-poll reads this before the agent hears of the change. Batched
 * (lib/db/batched-read.ts): a fleet-wide change wakes every agent at once, and
 * each needs its server's workloads at the new generation. A read that starts
 * after the caller's generation read sees that generation or a newer one.
 */
const readWorkloads = createBatchedRead(async (serverIds) => {
  const sql = pooledSql();
  const replicas = await sql.query<{ serverId: string; id: string; deploymentId: string; deploymentName: string; runtimeId: string; slot: number; spec: ReplicaSpec; specHash: string; generation: number }>(
    `SELECT rep.server_id AS "serverId", rep.id, rep.deployment_id AS "deploymentId", d.name AS "deploymentName", d.runtime_id AS "runtimeId", rep.slot, rep.spec, rep.spec_hash AS "specHash", rep.generation
       FROM replicas rep JOIN deployments d ON d.id = rep.deployment_id
      WHERE rep.server_id = ANY($1::uuid[]) AND rep.desired
      ORDER BY rep.deployment_id, rep.slot`,
    [serverIds],
  );
  const runtimeIds = [...new Set(replicas.map((r) => r.runtimeId))];
  const runtimes = runtimeIds.length === 0 ? [] : await sql.query<Runtime>(`SELECT ${RUNTIME_COLUMNS} FROM runtimes r WHERE r.id = ANY($1::uuid[])`, [runtimeIds]);
  const byId = new Map(runtimes.map((r) => [r.id, r]));
  const byServer = new Map<string, Workload[]>(serverIds.map((id) => [id, []]));
  for (const replica of replicas) byServer.get(replica.serverId)?.push(workloadOf(replica, byId));
  return byServer;
});

function workloadOf(replica: { id: string; deploymentId: string; deploymentName: string; runtimeId: string; slot: number; spec: ReplicaSpec; specHash: string; generation: number }, byId: Map<string, Runtime>): Workload {
  const { spec } = replica;
  const runtime = byId.get(replica.runtimeId);
  // Registry credentials are read fresh (an admin may have rotated them); they are not part of the spec.
  const registryAuth = runtime && runtime.name === spec.runtime.name ? runtimeSpec(runtime).registryAuth : null;
  return {
    ...spec,
    runtime: { ...spec.runtime, registryAuth },
    replicaId: replica.id,
    deploymentId: replica.deploymentId,
    deploymentName: replica.deploymentName,
    slot: replica.slot,
    specHash: replica.specHash,
    generation: replica.generation,
  };
}

/** Seconds between taking a replica out of the gateway's rotation and stopping its container. */
export function drainSeconds(): number {
  const configured = Number(process.env.BERTH_DRAIN_SECONDS ?? 2);
  return Number.isFinite(configured) && configured >= 0 ? Math.floor(configured) : 2;
}
