import { getDb } from "@/lib/db/client";
import { getPool } from "@/lib/db/client";
import { logger } from "@/lib/observability/logger";
import { countDroppedLogRows } from "./metrics";

/**
 * The inference access log: one row per gateway request, written off the
 * request path. Rows wait in a bounded in-memory buffer and go to the
 * database in one multi-row INSERT every FLUSH_INTERVAL_MS or FLUSH_ROWS
 * rows. Logging never blocks or fails a request: when the buffer is full
 * (the database is down or slow) new rows are dropped and counted
 * (berth_inference_log_dropped_total), and a failed write is logged and dropped.
 * Successful inference requests are not audit events (there are too many);
 * refusals are (lib/gateway/admit.ts).
 */
export const FLUSH_INTERVAL_MS = 1_000;
export const FLUSH_ROWS = 500;
export const MAX_BUFFERED_ROWS = 20_000;

export type AccessLogRow = {
  at: Date;
  deploymentId: string;
  deploymentName: string;
  replicaId: string | null;
  tokenId: string | null;
  tokenLabel: string | null;
  clientAddress: string | null;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestBytes: number;
  responseBytes: number;
  requestId: string | null;
};

type State = { buffer: AccessLogRow[]; timer: NodeJS.Timeout | null; flushing: Promise<void> | null; dropped: number; lastWarnAt: number };
const holder = globalThis as unknown as { __berthAccessLog?: State };
function state(): State {
  holder.__berthAccessLog ??= { buffer: [], timer: null, flushing: null, dropped: 0, lastWarnAt: 0 };
  return holder.__berthAccessLog;
}

function drop(s: State, n: number, why: string) {
  s.dropped += n;
  countDroppedLogRows(n);
  if (Date.now() - s.lastWarnAt > 10_000) {
    s.lastWarnAt = Date.now();
    logger.warn({ dropped: s.dropped }, `inference access log: dropped rows (${why})`);
  }
}

// One INSERT for the whole batch, the columns passed as arrays and unnested, through
// plain pg: Prisma's createMany compiles every row in its WebAssembly query compiler on
// the JavaScript thread (bench/gateway), while this statement's cost hardly grows with the batch.
const INSERT_SQL = `
  INSERT INTO inference_log (at, deployment_id, deployment_name, replica_id, token_id, token_label, client_address, method, path, status, latency_ms, request_bytes, response_bytes, request_id)
  SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::float8[], $12::bigint[], $13::bigint[], $14::text[])`;

async function insertRows(batch: AccessLogRow[]): Promise<void> {
  const column = <T>(pick: (row: AccessLogRow) => T) => batch.map(pick);
  await getPool().query(INSERT_SQL, [
    column((r) => r.at.toISOString()),
    column((r) => r.deploymentId),
    column((r) => r.deploymentName),
    column((r) => r.replicaId),
    column((r) => r.tokenId),
    column((r) => r.tokenLabel?.slice(0, 300) ?? null),
    column((r) => r.clientAddress),
    column((r) => r.method),
    column((r) => r.path.slice(0, 1000)),
    column((r) => r.status),
    column((r) => r.latencyMs),
    column((r) => String(r.requestBytes)),
    column((r) => String(r.responseBytes)),
    column((r) => r.requestId),
  ]);
}

/** Queues one row; returns at once. */
export function logInference(row: AccessLogRow): void {
  const s = state();
  if (s.buffer.length >= MAX_BUFFERED_ROWS) return drop(s, 1, "buffer full");
  s.buffer.push(row);
  if (s.buffer.length >= FLUSH_ROWS) void flushInferenceLog();
  else if (!s.timer) {
    s.timer = setTimeout(() => {
      s.timer = null;
      void flushInferenceLog();
    }, FLUSH_INTERVAL_MS);
    s.timer.unref();
  }
}

/** Writes what is buffered now (one INSERT per FLUSH_ROWS rows). Never throws. */
export async function flushInferenceLog(): Promise<void> {
  const s = state();
  if (s.flushing) await s.flushing;
  if (s.buffer.length === 0) return;
  const run = (async () => {
    while (s.buffer.length > 0) {
      const batch = s.buffer.splice(0, FLUSH_ROWS);
      try {
        await insertRows(batch);
      } catch (error) {
        logger.warn({ err: error, rows: batch.length }, "inference access log: a write failed; its rows are dropped");
        drop(s, batch.length, "write failed");
        return;
      }
    }
  })();
  s.flushing = run;
  try {
    await run;
  } finally {
    s.flushing = null;
  }
}

/** Rows waiting to be written (tests, shutdown). */
export function bufferedInferenceLogRows(): number {
  return state().buffer.length;
}

/** Deletes access-log rows older than the retention; returns how many went. */
export async function purgeInferenceLog(options: { olderThanDays: number; now?: Date }): Promise<number> {
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanDays * 86_400_000);
  const { count } = await getDb().inferenceLogEntry.deleteMany({ where: { at: { lt: cutoff } } });
  return count;
}
