import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { databaseUrl, getDb, getPool } from "@/lib/db/client";
import { emitWebhookEvent } from "@/lib/webhooks/emit";
import { recordAuditEvent, type AuditActor, type AuditRequest } from "./record-event";
import { GENESIS_HASH } from "./canonical";
import { ChainWalker, type ChainProblem } from "./chain-walker";
import { checkChainRange, PURGE_ACTION, type CheckpointAnchor, type RangeCheck, type SeqRange } from "./chain-range";
import { latestCheckpoint, type AuditCheckpointView } from "./retention";
import { chainPendingEvents } from "./sequencer";
import type { RangeJob, RangeReply } from "./verify-chain-worker";

export type ChainVerification = {
  checked: number;
  durationMs: number;
  checkpoint: AuditCheckpointView | null;
} & (
  | { ok: true; headSeq: string | null; headHash: string }
  | ({ ok: false } & ChainProblem)
);

export type VerifyOptions = {
  /** Worker threads; 0 walks in this thread. Default: one per core, or 0 for a chain under SMALL_CHAIN events. */
  workers?: number;
  /** Seq ranges the chain is cut into (default four per worker, so a worker slowed by other work on the machine takes fewer). */
  ranges?: number;
};

/** Below this many seqs a walk takes well under a second in one thread, less than starting workers costs. */
const SMALL_CHAIN = 50_000;

/**
 * Walks the whole chain and names the first event that fails.
 *
 * The walk reads one snapshot (REPEATABLE READ): events appended meanwhile are
 * not seen, so a chain that is consistent cannot look broken halfway through an
 * append. A large chain is cut into seq ranges that worker threads read and
 * hash in parallel, each on its own connection in the same exported snapshot;
 * this thread joins them: each range's first event must follow the last event
 * of the range before it, and the first failure by seq wins, whichever worker
 * found it. Memory holds a COPY chunk per worker, never the rows.
 *
 * After a retention purge the walk starts from the newest checkpoint, which
 * must be corroborated by its own `audit.purge` event further down the chain,
 * so a forged checkpoint (a way to hide deleted events) is caught too. Seq gaps
 * alone are fine: a rolled-back transaction leaves one.
 */
export function verifyAuditChain(options: VerifyOptions = {}): Promise<ChainVerification> {
  // One walk at a time per process: the workers are shared, and two walks at once would each take twice as long.
  const walk = walking.then(() => walkChain(options));
  walking = walk.catch(() => undefined);
  return walk;
}

let walking: Promise<unknown> = Promise.resolve();

async function walkChain(options: VerifyOptions): Promise<ChainVerification> {
  const started = performance.now();
  // Events recorded by committed changes but not chained yet are chained first, so the walk sees them.
  await chainPendingEvents();
  const client = await getPool().connect();
  let broken = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const checkpoint = await latestCheckpoint(client);
    const anchor: CheckpointAnchor | null = checkpoint && { throughSeq: checkpoint.throughSeq, continuesFromHash: checkpoint.continuesFromHash };
    const after = checkpoint?.throughSeq ?? "-1";
    const { rows } = await client.query<{ last: string | null }>(`SELECT max(seq)::text AS last FROM audit_events WHERE seq > $1`, [after]);
    const last = rows[0]?.last ?? null;
    const span = last === null ? 0n : BigInt(last) - BigInt(after);
    const workers = Math.max(0, Math.floor(options.workers ?? (span < SMALL_CHAIN ? 0 : availableParallelism())));
    let ranges: RangeCheck[] = [];
    if (last !== null && workers === 0) ranges = [await checkChainRange(client, { after, through: last }, anchor)];
    else if (last !== null) {
      // An exported snapshot can be imported only while the exporting transaction is open
      // (https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-SNAPSHOT-SYNCHRONIZATION),
      // so this one commits after every range has been read.
      const { rows: exported } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
      const count = Math.max(1, Math.floor(options.ranges ?? workers * 4));
      ranges = await inWorkers(workers, splitRange({ after, through: last }, count), exported[0]!.id, anchor);
    }
    await client.query("COMMIT");

    const walker = new ChainWalker({
      prevHash: checkpoint?.continuesFromHash ?? GENESIS_HASH,
      afterSeq: checkpoint ? BigInt(checkpoint.throughSeq) : null,
    });
    const result = (fields: { ok: true } | ({ ok: false } & ChainProblem)): ChainVerification =>
      fields.ok
        ? { ok: true, checked: walker.checked, durationMs: Math.round(performance.now() - started), checkpoint, headSeq: walker.headSeq, headHash: walker.headHash }
        : { ...fields, checked: walker.checked, durationMs: Math.round(performance.now() - started), checkpoint };
    for (const range of ranges) {
      if (!range.first) continue; // no events in this stretch of seqs
      const problem = walker.stretch({ first: range.first, last: range.problem ? null : range.last, checked: range.checked }) ?? range.problem;
      if (problem) return result({ ok: false, ...problem });
    }
    if (checkpoint && !ranges.some((range) => range.corroborates)) {
      return result({
        ok: false,
        seq: checkpoint.throughSeq,
        problem: "broken_link",
        message: `the retention checkpoint through event ${checkpoint.throughSeq} has no matching ${PURGE_ACTION} event in the chain: events may have been deleted outside the purge path`,
      });
    }
    return result({ ok: true });
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    // A connection left inside the walk's transaction (an error mid-way) is closed rather than pooled.
    client.release(broken);
  }
}

/** (after, through] cut into `count` contiguous ranges of about equal seq span. */
export function splitRange(range: SeqRange, count: number): SeqRange[] {
  const after = BigInt(range.after);
  const span = BigInt(range.through) - after;
  const parts = span < BigInt(count) ? Number(span) || 1 : count;
  return Array.from({ length: parts }, (_, i) => ({
    after: (after + (span * BigInt(i)) / BigInt(parts)).toString(),
    through: (after + (span * BigInt(i + 1)) / BigInt(parts)).toString(),
  }));
}

/**
 * Runs the ranges on `count` workers, each taking the next range when it is
 * free. A range with a failure makes every later range moot (the first
 * failure by seq is the answer), so those are not started.
 */
async function inWorkers(count: number, ranges: SeqRange[], snapshot: string, checkpoint: CheckpointAnchor | null): Promise<RangeCheck[]> {
  const threads = rangeWorkers(count);
  const results: RangeCheck[] = [];
  let next = 0;
  let cutoff = ranges.length;
  try {
    await Promise.all(
      threads.map(async (thread) => {
        while (next < cutoff) {
          const i = next++;
          const checked = await thread.check({ snapshot, range: ranges[i]!, checkpoint });
          results[i] = checked;
          if (checked.problem) cutoff = Math.min(cutoff, i + 1);
        }
      }),
    );
  } catch (error) {
    // A worker that failed mid-range may still be reading; none is reused after an error.
    stopRangeWorkers();
    throw error;
  } finally {
    idleRangeWorkers();
  }
  return results.slice(0, cutoff);
}

// ---- the worker threads, kept between walks -------------------------------------------------

type RangeWorker = { worker: Worker; check(job: RangeJob): Promise<RangeCheck> };

/** Starting a worker (its own tsx, pg and connection) takes 0.3–1.5 s here, so workers stay for a minute after a walk. */
const IDLE_MS = 60_000;
let pool: { url: string; workers: RangeWorker[] } = { url: "", workers: [] };
let idleTimer: NodeJS.Timeout | null = null;

function rangeWorkers(count: number): RangeWorker[] {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  const url = databaseUrl();
  if (pool.url !== url) {
    stopRangeWorkers();
    pool = { url, workers: [] };
  }
  while (pool.workers.length < count) pool.workers.push(startRangeWorker(url));
  return pool.workers.slice(0, count);
}

function startRangeWorker(url: string): RangeWorker {
  const worker = new Worker(new URL("./verify-chain-worker.mjs", import.meta.url), { workerData: { url } });
  // An idle worker must not keep the process alive (the CLI, tests).
  worker.unref();
  let pending: { resolve: (result: RangeCheck) => void; reject: (error: Error) => void } | null = null;
  const settle = (reply: RangeReply) => {
    const waiting = pending;
    pending = null;
    if ("error" in reply) waiting?.reject(new Error(`audit chain verification: ${reply.error}`));
    else waiting?.resolve(reply.result);
  };
  const gone = (error: Error) => {
    pool.workers = pool.workers.filter((w) => w.worker !== worker);
    settle({ error: error.message });
  };
  worker.on("message", settle);
  worker.on("error", gone);
  worker.on("exit", (code) => gone(new Error(`a verification worker exited (${code})`)));
  return {
    worker,
    check: (job) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(job);
      }),
  };
}

function idleRangeWorkers() {
  idleTimer = setTimeout(stopRangeWorkers, IDLE_MS);
  idleTimer.unref();
}

/** Ends the verification workers (they end by themselves a minute after the last walk). */
export function stopRangeWorkers() {
  const stopping = pool.workers;
  pool = { url: pool.url, workers: [] };
  for (const { worker } of stopping) void worker.terminate();
}

/** The live verification a person asks for (the Audit page, `berth audit verify --live`): itself an audit event, FAILURE when the chain is broken. */
export async function verifyAuditChainFor(actor: AuditActor, request: AuditRequest): Promise<ChainVerification> {
  const verification = await verifyAuditChain();
  await getDb().$transaction(async (tx) => {
    await recordAuditEvent(tx, {
      actor,
      request,
      action: "audit.verify",
      target: { kind: "audit_log", label: "audit log" },
      outcome: verification.ok ? "SUCCESS" : "FAILURE",
      details: verification.ok
        ? { checked: verification.checked, headSeq: verification.headSeq, headHash: verification.headHash, durationMs: verification.durationMs }
        : { checked: verification.checked, failedAt: verification.seq, problem: verification.problem, message: verification.message },
    });
    if (!verification.ok) {
      await emitWebhookEvent(tx, "audit.verification_failed", {
        checked: verification.checked,
        failedAt: verification.seq,
        problem: verification.problem,
        message: verification.message,
        verifiedBy: actor.label,
      });
    }
  });
  return verification;
}
