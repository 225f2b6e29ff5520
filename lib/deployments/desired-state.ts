import type { Workload } from "@/lib/protocol/agent";

/** What should run on one server: the workloads of its desired replicas. */
export async function workloadsForServer(_serverId: string): Promise<Workload[]> {
  return [];
}

/** Seconds between taking a replica out of the gateway's rotation and stopping its container. */
export function drainSeconds(): number {
  const configured = Number(process.env.BERTH_DRAIN_SECONDS ?? 2);
  return Number.isFinite(configured) && configured >= 0 ? Math.floor(configured) : 2;
}
