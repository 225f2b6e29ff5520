import type { Readable } from "node:stream";
import pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { databaseUrl } from "@/lib/db/client";
import { csvRecord } from "@/lib/http/csv";
import { recordStandaloneAuditEvent, type AuditActor, type AuditRequest } from "./record-event";
import { auditWhere, type AuditFilter } from "./filters";
import { CopyRowRenderer } from "./export-render";
import { latestCheckpoint } from "./retention";
import { AUDIT_EXPORT_KIND, AUDIT_EXPORT_VERSION } from "./canonical";

/**
 * Audit exports, streamed: one `COPY … TO STDOUT (FORMAT binary)` in a read-only
 * snapshot, its bytes rendered into lines as they arrive (export-render.ts: no
 * JavaScript string or object per row) and written with backpressure, so memory
 * does not grow with the range and a slow reader slows the COPY. Both formats cover
 * one contiguous stretch of the chain: the events from the first to the last in the
 * time range, in seq order.
 *
 * JSON Lines (`berth audit verify FILE` checks it offline; the format is in
 * docs/audit-verification.md):
 *   {"type":"header", …, "startAnchor": {"prevHash"}, "chainHead": {…}}   the hash the first event follows
 *   {"type":"event", seq, at, actor…, details, prevHash, hash}             an event the filter selects
 *   {"type":"link", seq, prevHash, hash}                                   an event it leaves out: no content,
 *                                                                          only its place in the chain
 *   {"type":"end", events, links, lastSeq, lastHash}                       the end anchor; its absence means truncated
 * so an auditor can prove that nothing in the stretch was edited, removed or
 * inserted even when the export was filtered.
 *
 * CSV carries the selected events only (for spreadsheets), each with its
 * prev_hash and hash, so each row can still be checked on its own.
 */
export { AUDIT_EXPORT_FORMATS, type AuditExportFormat } from "./export-formats";
import type { AuditExportFormat } from "./export-formats";
import { chainPendingEvents } from "./sequencer";


/** The application_name of an export's database connection (pg_stat_activity shows who is exporting). */
export const AUDIT_EXPORT_APPLICATION = "berth audit export";

const CSV_COLUMNS = [
  "seq", "at", "actor_kind", "actor_id", "actor_label", "action", "target_kind", "target_id", "target_label",
  "outcome", "source_address", "request_id", "details", "prev_hash", "hash",
] as const;

/** The stretch an export covers, read in the export's snapshot: seq bounds, and the hash the first event follows. */
type Stretch = { first: string; last: string; startAnchor: string };

export type AuditExport = {
  fileName: string;
  contentType: string;
  /** The file, a chunk at a time (about 64 KiB each). */
  chunks: AsyncGenerator<Buffer | string, void, undefined>;
  /** Lets go of the database connection the export holds, if reading did not (call it in a finally). */
  close: () => void;
};

/** The stretch: every event from the first to the last in the time range, and the hash the first one follows. */
async function readStretch(client: pg.ClientBase, filter: AuditFilter): Promise<Stretch | null> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.from) conditions.push(`at >= $${params.push(new Date(filter.from))}`);
  if (filter.to) conditions.push(`at < $${params.push(new Date(filter.to))}`);
  const { rows } = await client.query<{ first: string | null; last: string | null; startAnchor: string | null }>(
    `SELECT r.first::text AS first, r.last::text AS last, (SELECT prev_hash FROM audit_events WHERE seq = r.first) AS "startAnchor"
       FROM (SELECT min(seq) AS first, max(seq) AS last FROM audit_events${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""}) r`,
    params,
  );
  const row = rows[0];
  return row?.first && row.last && row.startAnchor ? { first: row.first, last: row.last, startAnchor: row.startAnchor } : null;
}

async function chainHead(client: pg.ClientBase): Promise<{ seq: string; hash: string } | null> {
  const { rows } = await client.query<{ seq: string; hash: string }>(`SELECT seq::text AS seq, hash FROM audit_events ORDER BY audit_events.seq DESC LIMIT 1`);
  return rows[0] ?? null;
}

/**
 * A value for a `$n` of auditWhere, written into the statement with pg's escapeLiteral: COPY
 * takes no bind parameters ("there is no parameter $1"; brianc/node-pg-copy-streams#157,
 * brianc/node-postgres#1176). The filter's values are already checked by ZAuditFilter.
 */
function literal(value: unknown): string {
  if (value instanceof Date) return `${pg.escapeLiteral(value.toISOString())}::timestamptz`;
  if (typeof value === "string") return pg.escapeLiteral(value);
  throw new Error(`audit export: no SQL literal for a ${typeof value}`);
}

/**
 * The COPY statement: the stretch in seq order, each row as the columns export-render.ts
 * expects (COPY_FIELDS). `selected` is the filter (the SQL the explorer uses); CSV keeps only
 * selected rows, JSON Lines keeps every row and renders the others as links, so the columns
 * only an event line prints are left null for them.
 */
export function exportCopySql(filter: AuditFilter, stretch: Stretch, format: AuditExportFormat): string {
  const where = auditWhere(filter, 1);
  const condition = where.sql.replace(/\$(\d+)/g, (_, n: string) => literal(where.params[Number(n) - 1]));
  const [first, last] = [stretch.first, stretch.last].map((seq) => {
    if (!/^\d{1,19}$/.test(seq)) throw new Error(`audit export: seq ${seq} is not a number`);
    return seq;
  });
  const at = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const bounds = `seq >= ${first} AND seq <= ${last}`;
  // Matches COPY_FIELDS. Order by the table's seq, not the text column (the alias trap filters.ts names).
  const columns = (selected: string, onlyEvents: (expression: string) => string) =>
    `${selected}, seq::text, ${onlyEvents(at)}, actor_kind::text, actor_id, actor_label, action, target_kind, target_id, target_label,
     outcome::text, source_address, request_id, ${onlyEvents("details::text")}, prev_hash, hash`;
  let query: string;
  if (format === "csv") {
    query = `SELECT ${columns("TRUE", (e) => e)} FROM audit_events WHERE ${bounds} AND (${condition}) ORDER BY audit_events.seq`;
  } else if (condition === "TRUE") {
    query = `SELECT ${columns("TRUE", (e) => e)} FROM audit_events WHERE ${bounds} ORDER BY audit_events.seq`;
  } else {
    // The filter once per row (OFFSET 0 keeps the planner from copying it into every CASE).
    query = `SELECT ${columns("selected", (e) => `CASE WHEN selected THEN ${e} END`)}
               FROM (SELECT (${condition}) AS selected, * FROM audit_events WHERE ${bounds} ORDER BY seq OFFSET 0) AS stretch ORDER BY stretch.seq`;
  }
  return `COPY (${query}) TO STDOUT (FORMAT binary)`;
}

/** The rendered rows of the stretch, streamed from one COPY on `client` (its transaction's snapshot). */
async function* copyRows(client: pg.ClientBase, sql: string, renderer: CopyRowRenderer): AsyncGenerator<Buffer> {
  const stream: Readable = client.query(copyTo(sql));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const rendered = renderer.push(chunk);
    if (rendered.length) yield rendered;
  }
  renderer.finish();
}

async function* jsonLines(client: pg.ClientBase, sql: string | null, meta: Record<string, unknown>, stretch: Stretch | null): AsyncGenerator<Buffer | string> {
  yield `${JSON.stringify({ type: "header", ...meta, startAnchor: { prevHash: stretch?.startAnchor ?? null } })}\n`;
  const renderer = new CopyRowRenderer("jsonl");
  if (sql) yield* copyRows(client, sql, renderer);
  yield `${JSON.stringify({ type: "end", events: renderer.events, links: renderer.links, lastSeq: renderer.lastSeq, lastHash: renderer.lastHash })}\n`;
}

async function* csvRows(client: pg.ClientBase, sql: string | null): AsyncGenerator<Buffer | string> {
  yield csvRecord([...CSV_COLUMNS]);
  if (sql) yield* copyRows(client, sql, new CopyRowRenderer("csv"));
}

/**
 * The export's chunks, holding `client` (in the export's transaction) until the last one,
 * then COMMIT and close. Closed too when the reader stops early or an error ends the COPY
 * (closing the connection is what stops a COPY mid-stream), or when nobody reads (`close`).
 */
function holding(client: pg.Client, body: AsyncGenerator<Buffer | string>): Pick<AuditExport, "chunks" | "close"> {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    client.end().catch(() => {});
  };
  async function* chunks() {
    try {
      yield* body;
      await client.query("COMMIT");
    } finally {
      close();
    }
  }
  return { chunks: chunks(), close };
}

/**
 * Opens an export. The export is itself an audit event (who took which
 * slice of the log, in which format), written before the first byte; the
 * stretch is fixed first, so the export's own event is not in it.
 */
export async function openAuditExport(options: { actor: AuditActor; request: AuditRequest; filter: AuditFilter; format: AuditExportFormat }): Promise<AuditExport> {
  const { filter, format } = options;
  // Events committed before the export asked are chained first, so its snapshot holds them.
  await chainPendingEvents();
  // One connection and one snapshot for the whole export: the stretch, its anchors and every
  // row agree even while events are appended (or purged) meanwhile. Its own connection, not
  // the pool's: an export holds it for as long as the reader takes, and the export's audit
  // event below needs a pool connection while it is held (exports as many as the pool would
  // otherwise wait on each other for ever).
  const client = new pg.Client({ connectionString: databaseUrl(), application_name: AUDIT_EXPORT_APPLICATION });
  // Errors reach the export through its queries and the COPY stream; without a listener a
  // dropped connection would be an uncaught 'error' event.
  client.on("error", () => {});
  await client.connect();
  let handedOver = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const stretch = await readStretch(client, filter);
    const head = await chainHead(client);
    const checkpoint = await latestCheckpoint();
    const exportedAt = new Date().toISOString();
    await recordStandaloneAuditEvent({
      actor: options.actor,
      request: options.request,
      action: "audit.export",
      target: { kind: "audit_log", label: "audit log" },
      details: { format, filter, firstSeq: stretch?.first ?? null, lastSeq: stretch?.last ?? null },
    });
    const sql = stretch ? exportCopySql(filter, stretch, format) : null;
    const stamp = exportedAt.replace(/[:.]/g, "-");
    handedOver = true;
    if (format === "csv") {
      return { fileName: `berth-audit-${stamp}.csv`, contentType: "text/csv; charset=utf-8", ...holding(client, csvRows(client, sql)) };
    }
    const meta = {
      format: AUDIT_EXPORT_KIND,
      version: AUDIT_EXPORT_VERSION,
      exportedAt,
      exportedBy: options.actor.label,
      filter,
      range: { firstSeq: stretch?.first ?? null, lastSeq: stretch?.last ?? null },
      chainHead: head,
      checkpoint,
      algorithm: "hash = hex(sha256(prevHash + \"\\n\" + canonical_json(event))); see docs/audit-verification.md",
    };
    return { fileName: `berth-audit-${stamp}.jsonl`, contentType: "application/x-ndjson; charset=utf-8", ...holding(client, jsonLines(client, sql, meta, stretch)) };
  } finally {
    if (!handedOver) client.end().catch(() => {});
  }
}
