import type { ReplicaStatus, StatusReport } from "@/lib/protocol/agent";
import { retryDelayMs, sleep } from "./backoff";

/**
 * Sends the reconciler's view to the control plane: at once when a replica
 * changes phase (the reconciler nudges; a replica turning ready is what puts
 * it into the gateway's rotation), on any other change (looked at every
 * checkMs, sent at most every minGapMs), and at least once per heartbeat
 * interval. It reads snapshots only, so a slow or
 * absent control plane never holds up the reconcile loop; failed sends are
 * retried with the agent's back-off. Log tails are fetched from Docker at
 * most every logRefreshMs per replica (and at the first look after a phase
 * change, which the phase change's own report does not wait for), and sent
 * only when they differ from what was last sent for that replica.
 */
export type StatusReporterOptions = {
  snapshot: () => { observedGeneration: number | null; replicas: ReplicaStatus[] };
  logTail: (containerId: string) => Promise<string[]>;
  send: (report: StatusReport) => Promise<void>;
  /** The heartbeat interval: a report goes out at least this often. */
  periodMs: () => number;
  signal: AbortSignal;
  onCondition?: (condition: "failing" | "ok", reason?: string) => void;
  checkMs?: number;
  minGapMs?: number;
  logRefreshMs?: number;
  logLines?: number;
};

export function createStatusReporter(options: StatusReporterOptions) {
  // A look is cheap (a snapshot; log tails are refreshed at most every logRefreshMs): look often, so a replica's readiness reaches the gateway quickly.
  const checkMs = options.checkMs ?? 200;
  const minGapMs = options.minGapMs ?? 100;
  const logRefreshMs = options.logRefreshMs ?? 5000;
  const logLines = options.logLines ?? 50;
  const tails = new Map<string, { containerId: string; phase: string; fetchedAt: number; lines: string[] }>();
  const sentTails = new Map<string, string>();
  let lastSentKey: string | null = null;
  let lastSentAt = 0;
  let failures = 0;
  let retryAt = 0;
  let failing = false;

  async function refreshTails(replicas: ReplicaStatus[], now: number) {
    await Promise.all(
      replicas.map(async (r) => {
        if (!r.containerId) return;
        const known = tails.get(r.replicaId);
        if (known && known.containerId === r.containerId && known.phase === r.phase && now - known.fetchedAt < logRefreshMs) return;
        const lines = await options.logTail(r.containerId).catch(() => known?.lines ?? []);
        tails.set(r.replicaId, { containerId: r.containerId, phase: r.phase, fetchedAt: now, lines: lines.slice(-logLines).map((l) => l.slice(0, 2000)) });
      }),
    );
    const present = new Set(replicas.map((r) => r.replicaId));
    for (const id of tails.keys()) if (!present.has(id)) tails.delete(id);
    for (const id of sentTails.keys()) if (!present.has(id)) sentTails.delete(id);
  }

  /** A change seen but held back by minGapMs: when it may go. */
  let heldUntil = 0;

  /** One look: sends when due (`urgent`: a phase change, not held back by minGapMs). Returns whether a report went out. */
  async function check(now = Date.now(), urgent = false): Promise<boolean> {
    if (now < retryAt) return false;
    const snap = options.snapshot();
    // A phase change goes without waiting for Docker's log API; its new log lines follow with the next look.
    if (!urgent) await refreshTails(snap.replicas, now);
    const key = JSON.stringify(snap);
    const changedTails = new Map<string, string[]>();
    for (const r of snap.replicas) {
      const tail = tails.get(r.replicaId);
      if (tail && r.containerId === tail.containerId && sentTails.get(r.replicaId) !== JSON.stringify(tail.lines)) changedTails.set(r.replicaId, tail.lines);
    }
    const changed = key !== lastSentKey || changedTails.size > 0;
    const due = changed || now - lastSentAt >= options.periodMs();
    if (!due) return false;
    if (!urgent && now - lastSentAt < minGapMs) {
      heldUntil = lastSentAt + minGapMs;
      return false;
    }
    const report: StatusReport = {
      observedGeneration: snap.observedGeneration,
      replicas: snap.replicas.slice(0, 500).map((r) => ({ ...r, logTail: changedTails.get(r.replicaId) ?? null })),
    };
    try {
      await options.send(report);
    } catch (error) {
      if (options.signal.aborted) return false;
      failures++;
      retryAt = now + retryDelayMs(failures);
      if (!failing) options.onCondition?.("failing", (error as Error).message?.slice(0, 200));
      failing = true;
      return false;
    }
    failures = 0;
    retryAt = 0;
    if (failing) options.onCondition?.("ok");
    failing = false;
    lastSentKey = key;
    lastSentAt = now;
    for (const [id, lines] of changedTails) sentTails.set(id, JSON.stringify(lines));
    return true;
  }

  let wakeUp: (() => void) | null = null;
  let nudged = false;

  /** Something worth reporting happened (a replica changed phase): send now rather than at the next tick. */
  function nudge(): void {
    nudged = true;
    wakeUp?.();
  }

  async function run(): Promise<void> {
    while (!options.signal.aborted) {
      const urgent = nudged;
      nudged = false;
      heldUntil = 0;
      await check(Date.now(), urgent).catch(() => {});
      // A phase change while that report was being sent is not left for the next tick.
      if (nudged) continue;
      const pause = heldUntil > 0 ? Math.max(0, heldUntil - Date.now()) : checkMs;
      const woken = new Promise<boolean>((resolve) => (wakeUp = () => resolve(true)));
      const awake = await Promise.race([sleep(pause, options.signal), woken]);
      wakeUp = null;
      if (!awake) return;
    }
  }

  return { run, check, nudge };
}
