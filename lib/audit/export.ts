import { getPool } from "@/lib/db/client";
import { csvRecord } from "@/lib/http/csv";
import { recordStandaloneAuditEvent, type AuditActor, type AuditRequest } from "./record-event";
import { AUDIT_COLUMNS, auditWhere, type AuditFilter, type AuditRow } from "./filters";
import { latestCheckpoint } from "./retention";
import { AUDIT_EXPORT_KIND, AUDIT_EXPORT_VERSION } from "./canonical";

/**
 * Audit exports, streamed: rows are read a batch at a time by seq (the next
 * batch is fetched while this one is written, 1,000 rows a chunk), so memory
 * does not grow with the range. Both formats cover one contiguous stretch of the chain: the
 * events from the first to the last in the time range, in seq order.
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


const CSV_COLUMNS = [
  "seq", "at", "actor_kind", "actor_id", "actor_label", "action", "target_kind", "target_id", "target_label",
  "outcome", "source_address", "request_id", "details", "prev_hash", "hash",
] as const;

const BATCH = 10_000;
const SLICE = 1_000;

type ExportRow = AuditRow & { selected: boolean };

export type AuditExport = {
  fileName: string;
  contentType: string;
  /** Text chunks, one per 1,000 rows at most. */
  chunks: AsyncIterable<string>;
};

/** The seq stretch an export covers: every event from the first to the last in the time range. */
async function seqRange(filter: AuditFilter): Promise<{ first: string; last: string } | null> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.from) conditions.push(`at >= $${params.push(new Date(filter.from))}`);
  if (filter.to) conditions.push(`at < $${params.push(new Date(filter.to))}`);
  const { rows } = await getPool().query<{ first: string | null; last: string | null }>(
    `SELECT min(seq)::text AS first, max(seq)::text AS last FROM audit_events${conditions.length ? ` WHERE ${conditions.join(" AND ")}` : ""}`,
    params,
  );
  const row = rows[0];
  return row?.first && row.last ? { first: row.first, last: row.last } : null;
}

async function chainHead(): Promise<{ seq: string; hash: string } | null> {
  const { rows } = await getPool().query<{ seq: string; hash: string }>(`SELECT seq::text AS seq, hash FROM audit_events ORDER BY audit_events.seq DESC LIMIT 1`);
  return rows[0] ?? null;
}

async function* batches(filter: AuditFilter, range: { first: string; last: string }): AsyncGenerator<ExportRow[]> {
  // Whether the filter selects each row is the database's to say, with the same SQL the explorer uses.
  const where = auditWhere(filter, 4);
  const sql = `SELECT (${where.sql}) AS selected, ${AUDIT_COLUMNS} FROM audit_events
                WHERE seq > $1 AND seq >= $2 AND seq <= $3 ORDER BY audit_events.seq LIMIT ${BATCH}`;
  const read = (after: string) => getPool().query<ExportRow>(sql, [after, range.first, range.last, ...where.params]).then((r) => r.rows);
  let next = read((BigInt(range.first) - 1n).toString());
  for (;;) {
    const rows = await next;
    if (rows.length === BATCH) next = read(rows.at(-1)!.seq);
    // Rendered and written a slice at a time, with a turn of the event loop between slices: the
    // next batch arrives from the database meanwhile (rather than waiting in a full socket buffer
    // for this one to be written), and the strings stay small enough to die young.
    for (let i = 0; i < rows.length; i += SLICE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      yield rows.slice(i, i + SLICE);
    }
    if (rows.length < BATCH) return;
  }
}

const q = JSON.stringify;

// Built by hand rather than JSON.stringify(object): details are spliced in as
// the JSON text the database returns, saving a parse and a stringify per row.
// seq, at, actorKind and outcome come from typed columns (a number, to_char's
// fixed format, enum labels): nothing in them needs escaping.
function eventLine(row: AuditRow): string {
  return `{"type":"event","seq":"${row.seq}","at":"${row.at}","actorKind":"${row.actorKind}","actorId":${q(row.actorId)},"actorLabel":${q(row.actorLabel)},"action":${q(row.action)},"targetKind":${q(row.targetKind)},"targetId":${q(row.targetId)},"targetLabel":${q(row.targetLabel)},"outcome":"${row.outcome}","sourceAddress":${q(row.sourceAddress)},"requestId":${q(row.requestId)},"details":${row.details},"prevHash":${q(row.prevHash)},"hash":${q(row.hash)}}\n`;
}

function linkLine(row: AuditRow): string {
  return `{"type":"link","seq":${q(row.seq)},"prevHash":${q(row.prevHash)},"hash":${q(row.hash)}}\n`;
}

async function* jsonLines(filter: AuditFilter, meta: Record<string, unknown>, range: { first: string; last: string } | null): AsyncGenerator<string> {
  const rows = range ? batches(filter, range) : null;
  const first = rows ? await rows.next() : null;
  const firstRows = first && !first.done ? first.value : [];
  yield `${JSON.stringify({ type: "header", ...meta, startAnchor: { prevHash: firstRows[0]?.prevHash ?? null } })}\n`;
  let events = 0;
  let links = 0;
  let last: AuditRow | null = null;
  const render = (batch: ExportRow[]) => {
    let text = "";
    for (const row of batch) {
      if (row.selected) {
        text += eventLine(row);
        events += 1;
      } else {
        text += linkLine(row);
        links += 1;
      }
    }
    last = batch.at(-1) ?? last;
    return text;
  };
  if (firstRows.length) yield render(firstRows);
  if (rows) for await (const batch of rows) yield render(batch);
  const end = last as AuditRow | null;
  yield `${JSON.stringify({ type: "end", events, links, lastSeq: end?.seq ?? null, lastHash: end?.hash ?? null })}\n`;
}

async function* csvRows(filter: AuditFilter, range: { first: string; last: string } | null): AsyncGenerator<string> {
  yield csvRecord([...CSV_COLUMNS]);
  if (!range) return;
  for await (const batch of batches(filter, range)) {
    let text = "";
    for (const row of batch) {
      if (!row.selected) continue;
      text += csvRecord([
        row.seq, row.at, row.actorKind, row.actorId, row.actorLabel, row.action, row.targetKind, row.targetId, row.targetLabel,
        row.outcome, row.sourceAddress, row.requestId, row.details, row.prevHash, row.hash,
      ]);
    }
    if (text) yield text;
  }
}

/**
 * Opens an export. The export is itself an audit event (who took which
 * slice of the log, in which format), written before the first byte; the
 * stretch is fixed first, so the export's own event is not in it.
 */
export async function openAuditExport(options: { actor: AuditActor; request: AuditRequest; filter: AuditFilter; format: AuditExportFormat }): Promise<AuditExport> {
  const { filter, format } = options;
  await chainPendingEvents();
  const [range, head, checkpoint] = await Promise.all([seqRange(filter), chainHead(), latestCheckpoint()]);
  const exportedAt = new Date().toISOString();
  await recordStandaloneAuditEvent({
    actor: options.actor,
    request: options.request,
    action: "audit.export",
    target: { kind: "audit_log", label: "audit log" },
    details: { format, filter, firstSeq: range?.first ?? null, lastSeq: range?.last ?? null },
  });
  const stamp = exportedAt.replace(/[:.]/g, "-");
  if (format === "csv") {
    return { fileName: `berth-audit-${stamp}.csv`, contentType: "text/csv; charset=utf-8", chunks: csvRows(filter, range) };
  }
  const meta = {
    format: AUDIT_EXPORT_KIND,
    version: AUDIT_EXPORT_VERSION,
    exportedAt,
    exportedBy: options.actor.label,
    filter,
    range: { firstSeq: range?.first ?? null, lastSeq: range?.last ?? null },
    chainHead: head,
    checkpoint,
    algorithm: "hash = hex(sha256(prevHash + \"\\n\" + canonical_json(event))); see docs/audit-verification.md",
  };
  return { fileName: `berth-audit-${stamp}.jsonl`, contentType: "application/x-ndjson; charset=utf-8", chunks: jsonLines(filter, meta, range) };
}
