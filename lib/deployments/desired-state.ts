import { getDb } from "@/lib/db/client";
import type { Workload } from "@/lib/protocol/agent";
import { runtimeSpec } from "./runtimes";
import type { ReplicaSpec } from "./spec";

/**
 * What should run on one server: its desired replicas, each with the spec it
 * was made with. Read once per long-poll answer (when the generation moved),
 * not per idle poll.
 */
export async function workloadsForServer(serverId: string): Promise<Workload[]> {
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
