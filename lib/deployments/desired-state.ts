import { getDb } from "@/lib/db/client";
import type { Workload } from "@/lib/protocol/agent";
import { runtimeSpec } from "./runtimes";
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
  const workloads = await readWorkloads(serverId);
  if (generation !== undefined) cache.set(serverId, { generation, workloads });
  return workloads;
}

/** Registry credentials ride in workloads without a generation bump: a runtime change forgets them all. */
export function forgetCachedWorkloads(): void {
  cache.clear();
}

/** Each desired replica with the spec it was made with. */
async function readWorkloads(serverId: string): Promise<Workload[]> {
  const replicas = await getDb().replica.findMany({
    where: { serverId, desired: true },
    include: { deployment: { select: { name: true, runtime: true } } },
    orderBy: [{ deploymentId: "asc" }, { slot: "asc" }],
  });
  return replicas.map((replica) => {
    const spec = replica.spec as unknown as ReplicaSpec;
    const runtime = replica.deployment.runtime;
    // Registry credentials are read fresh (an admin may have rotated them); they are not part of the spec.
    const registryAuth = runtime.name === spec.runtime.name ? runtimeSpec(runtime).registryAuth : null;
    return {
      ...spec,
      runtime: { ...spec.runtime, registryAuth },
      replicaId: replica.id,
      deploymentId: replica.deploymentId,
      deploymentName: replica.deployment.name,
      slot: replica.slot,
      specHash: replica.specHash,
      generation: replica.generation,
    };
  });
}

/** Seconds between taking a replica out of the gateway's rotation and stopping its container. */
export function drainSeconds(): number {
  const configured = Number(process.env.BERTH_DRAIN_SECONDS ?? 2);
  return Number.isFinite(configured) && configured >= 0 ? Math.floor(configured) : 2;
}
