import { getPool } from "@/lib/db/client";
import { logger } from "@/lib/observability/logger";

/**
 * The audit sequencer: moves events that committed transactions recorded in
 * `audit_pending` (recordAuditEvent) into the hash chain, in batches, through
 * `berth_audit_chain_pending` (migration 20261126200000_audit_sequencer). One
 * batch is one transaction under the chain lock and one WAL flush, however
 * many events it carries, so the chain takes audited changes as fast as the
 * database commits them (concurrent commits share a flush) rather than one
 * flush at a time.
 *
 * Every control plane runs it; the chain lock makes their batches take turns
 * and the function reads pending rows only once it holds the lock, so no event
 * is chained twice. It runs a few milliseconds after this process records an
 * event, every second (events recorded by another process, or by a process
 * that stopped before chaining them: a CLI command, a crash), and before every
 * read of the audit log, so a reader always sees what was committed before it
 * asked.
 */
const BATCH = 5_000;

let inFlight: Promise<number> | null = null;
let queued: Promise<number> | null = null;

/**
 * Chains every event committed before this call. Resolves with how many
 * events this process's passes chained (others' included in the same pass).
 */
export function chainPendingEvents(): Promise<number> {
  if (!inFlight) {
    inFlight = runPass().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }
  // The pass in flight may have read before the caller's events committed:
  // the caller waits for the next one, which every caller meanwhile shares.
  queued ??= inFlight
    .catch(() => 0)
    .then(() => {
      queued = null;
      return chainPendingEvents();
    });
  return queued;
}

async function runPass(): Promise<number> {
  let chained = 0;
  for (;;) {
    const { rows } = await getPool().query<{ n: number }>("SELECT berth_audit_chain_pending($1) AS n", [BATCH]);
    const n = rows[0]?.n ?? 0;
    chained += n;
    if (n < BATCH) return chained;
  }
}

// After this process records an event its transaction still has to commit,
// which usually takes a millisecond or two; passes follow at growing
// intervals until one finds nothing, and the periodic pass covers the rest.
const FOLLOW_UP_MS = [2, 5, 10, 25, 50, 100, 250];
let followUp: { timer: NodeJS.Timeout; step: number } | null = null;

/** Called when this process records an event: chain it soon after its transaction commits. */
export function scheduleChaining(): void {
  if (followUp) {
    followUp.step = 0;
    return;
  }
  arm(0);
}

function arm(step: number) {
  const timer = setTimeout(() => {
    const current = followUp!;
    chainPendingEvents()
      .then((n) => {
        // Something chained: more may be on the way, so start the intervals again.
        const next = n > 0 ? 0 : current.step + 1;
        if (next < FOLLOW_UP_MS.length) arm(next);
        else followUp = null;
      })
      .catch((error: unknown) => {
        followUp = null;
        logger.warn({ err: error }, "could not chain pending audit events (retried every second)");
      });
  }, FOLLOW_UP_MS[step]);
  // A CLI process must not stay alive for these: the server's periodic pass chains what it leaves.
  timer.unref();
  followUp = { timer, step };
}

let periodic: NodeJS.Timeout | null = null;

/** The server's periodic pass (and one at start, for events a stopped process left pending). */
export function startAuditSequencer(): () => void {
  const pass = () => {
    chainPendingEvents().catch((error: unknown) => logger.warn({ err: error }, "could not chain pending audit events"));
  };
  pass();
  periodic ??= setInterval(pass, 1_000);
  periodic.unref();
  return () => {
    if (periodic) clearInterval(periodic);
    periodic = null;
  };
}
