import { getPool } from "@/lib/db/client";
import { chainHash, type ChainedFields } from "./canonical";
import { chainedFieldsOfRow } from "./chain-walker";
import { AUDIT_COLUMNS, auditWhere, type AuditFilter, type AuditRow } from "./filters";
import { chainPendingEvents } from "./sequencer";

export type AuditEventView = ChainedFields & { prevHash: string; hash: string };

function view(row: AuditRow): AuditEventView {
  return { ...chainedFieldsOfRow(row), prevHash: row.prevHash, hash: row.hash };
}

/**
 * Newest first, keyset paged by seq: `before` is the last seq of the previous
 * page, so page N costs the same as page 1 however long the log grows (the
 * primary key walked backwards, or the actor/target/action index with seq).
 */
export async function listAuditEvents(options: { filter?: AuditFilter; limit: number; before?: bigint }): Promise<{ events: AuditEventView[]; nextBefore: string | null }> {
  await chainPendingEvents();
  const where = auditWhere(options.filter ?? {}, 1);
  const params = [...where.params];
  let sql = `SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE ${where.sql}`;
  if (options.before !== undefined) {
    params.push(options.before.toString());
    sql += ` AND seq < $${params.length}`;
  }
  params.push(options.limit + 1);
  sql += ` ORDER BY audit_events.seq DESC LIMIT $${params.length}`;
  const { rows } = await getPool().query<AuditRow>(sql, params);
  const page = rows.slice(0, options.limit);
  return {
    events: page.map(view),
    nextBefore: rows.length > options.limit ? (page.at(-1)?.seq ?? null) : null,
  };
}

export type AuditEventDetail = AuditEventView & {
  /** Whether the stored content still hashes to the stored hash (the event alone; the whole chain is verifyAuditChain's). */
  contentMatchesHash: boolean;
  previousSeq: string | null;
  nextSeq: string | null;
};

/** One event with its neighbours, for the explorer's detail view. */
export async function getAuditEvent(seq: bigint): Promise<AuditEventDetail | null> {
  await chainPendingEvents();
  const { rows } = await getPool().query<AuditRow & { previousSeq: string | null; nextSeq: string | null }>(
    `SELECT ${AUDIT_COLUMNS},
            (SELECT max(p.seq)::text FROM audit_events p WHERE p.seq < e.seq) AS "previousSeq",
            (SELECT min(n.seq)::text FROM audit_events n WHERE n.seq > e.seq) AS "nextSeq"
       FROM audit_events e WHERE e.seq = $1`,
    [seq.toString()],
  );
  const row = rows[0];
  if (!row) return null;
  const fields = chainedFieldsOfRow(row);
  return {
    ...fields,
    prevHash: row.prevHash,
    hash: row.hash,
    contentMatchesHash: chainHash(row.prevHash, fields) === row.hash,
    previousSeq: row.previousSeq,
    nextSeq: row.nextSeq,
  };
}
