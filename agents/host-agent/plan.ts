import type { ReplicaPhase, Workload } from "@/lib/protocol/agent";

/**
 * The pure half of the reconcile loop (Nomad's `diffAllocs` in spirit): for
 * one replica, given what should run and the containers Docker reports with
 * its labels, the single next step. The reconciler carries it out; a step
 * that needs waiting (downloads, readiness) runs as the replica's own task,
 * so no replica holds up another.
 */
export type ObservedContainer = { id: string; specHash: string; state: string; createdAt: number };

/** What the reconciler remembers about a replica between passes. */
export type ReplicaMemory = {
  phase: ReplicaPhase;
  /** The container the phase is about. */
  containerId: string | null;
  /** The spec that crashed too often: not restarted until the spec changes. */
  failedSpecHash: string | null;
  /** A crash of this container was counted; restart it at restartDueAt. */
  crashedContainerId: string | null;
  restartDueAt: number | null;
  lastProbeAt: number;
};

export type Step =
  | { kind: "none" }
  /** Not desired and no container left: drop it from reports. */
  | { kind: "forget" }
  /** Not desired: stopping, drain, stop, remove. */
  | { kind: "remove"; containerIds: string[] }
  /** Containers of another spec (or duplicates) go first, without drain: the replica is being replaced in place. */
  | { kind: "replace"; containerIds: string[] }
  /** Download, image, create, start, wait until ready. */
  | { kind: "create" }
  /** Created but never started (e.g. the agent stopped in between). */
  | { kind: "start"; containerId: string }
  /** Running, but not known to be ready (adopted after an agent restart, or just restarted). */
  | { kind: "await-ready"; containerId: string }
  | { kind: "probe"; containerId: string }
  /** Exited: count the crash, then restart later or give up. */
  | { kind: "crashed"; containerId: string }
  | { kind: "restart"; containerId: string };

const RUNNING_STATES = new Set(["running"]);
const EXITED_STATES = new Set(["exited", "dead"]);

export function planReplica(input: { desired: Workload | null; containers: ObservedContainer[]; memory: ReplicaMemory; now: number; probeIntervalMs: number }): Step {
  const { desired, containers, memory, now } = input;
  if (!desired) return containers.length > 0 ? { kind: "remove", containerIds: containers.map((c) => c.id) } : { kind: "forget" };

  const rank = (c: ObservedContainer) => (RUNNING_STATES.has(c.state) ? 0 : c.state === "created" ? 2 : 1);
  const matching = containers.filter((c) => c.specHash === desired.specHash).sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  const keep = matching[0];
  const extra = [...containers.filter((c) => c.specHash !== desired.specHash), ...matching.slice(1)];
  if (extra.length > 0) return { kind: "replace", containerIds: extra.map((c) => c.id) };
  if (memory.failedSpecHash === desired.specHash) return { kind: "none" };
  if (!keep) return { kind: "create" };

  if (keep.state === "created") return { kind: "start", containerId: keep.id };
  if (RUNNING_STATES.has(keep.state)) {
    const known = memory.containerId === keep.id && (memory.phase === "ready" || memory.phase === "unhealthy");
    if (!known) return { kind: "await-ready", containerId: keep.id };
    return now - memory.lastProbeAt >= input.probeIntervalMs ? { kind: "probe", containerId: keep.id } : { kind: "none" };
  }
  if (EXITED_STATES.has(keep.state)) {
    if (memory.crashedContainerId !== keep.id) return { kind: "crashed", containerId: keep.id };
    return memory.restartDueAt !== null && now >= memory.restartDueAt ? { kind: "restart", containerId: keep.id } : { kind: "none" };
  }
  // paused, restarting, removing: someone else is acting on it; look again next pass.
  return { kind: "none" };
}

/** Exponential restart delay: base, 2×base, 4×base … capped. */
export function restartDelayMs(crashesInWindow: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, crashesInWindow - 1));
}
