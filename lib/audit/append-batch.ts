import pg from "pg";
import { getPool } from "@/lib/db/client";
import type { AppendArguments } from "./record-event";

/**
 * Group commit for standalone audit events. The chain is serialised by one
 * lock held until the appending transaction has committed, WAL flush
 * included, so events appended one transaction each can never be more per
 * second than the disk flushes commits one after another (bench/audit: about
 * 200 to 1,000 a second on the 2-core VM). Standalone events (refusals,
 * failed sign-ins, reads) have no change of their own to commit with, so those
 * that arrive while an append is in flight go out together in the next one:
 * one statement calling `berth_audit_append` once per event, in one
 * transaction. Each caller resolves only once that transaction has committed,
 * so nothing is acknowledged before it is durable, and the chain keeps its one
 * order. When audit traffic is quiet an event is written at once (on the next
 * turn of the event loop); under load the batch grows instead of the queue.
 * The statement runs on its own (autocommit): the lock is taken and released
 * inside the database, with no round trip to Node while it is held.
 */
type Pending = { args: AppendArguments; resolve: (row: { seq: bigint; hash: string }) => void; reject: (error: unknown) => void };

const MAX_BATCH = 500;
let queue: Pending[] = [];
let inFlight = false;
let scheduled = false;

export function appendStandalone(args: AppendArguments): Promise<{ seq: bigint; hash: string }> {
  return new Promise((resolve, reject) => {
    queue.push({ args, resolve, reject });
    kick();
  });
}

function kick() {
  if (inFlight || scheduled || queue.length === 0) return;
  scheduled = true;
  setImmediate(() => void flush());
}

async function flush() {
  scheduled = false;
  if (inFlight || queue.length === 0) return;
  inFlight = true;
  const batch = queue.slice(0, MAX_BATCH);
  queue = queue.slice(batch.length);
  try {
    const rows = await appendEvents(getPool(), batch.map((pending) => pending.args));
    batch.forEach((pending, i) => pending.resolve(rows[i]!));
  } catch (error) {
    // The database refused the statement, so none of it committed. One event it
    // refuses (say, text jsonb cannot hold) must not fail the others: each again
    // on its own. Any other error (the connection lost: the outcome unknown) fails them all.
    if (batch.length > 1 && error instanceof pg.DatabaseError) {
      for (const pending of batch) await appendEvents(getPool(), [pending.args]).then(([row]) => pending.resolve(row!), pending.reject);
    } else {
      for (const pending of batch) pending.reject(error);
    }
  } finally {
    inFlight = false;
    kick();
  }
}

/**
 * Appends events to the chain in the given order, in one statement: one
 * `berth_audit_append` call per event, exactly as recordAuditEvent makes it.
 * On a pool (or a client outside a transaction) the statement is its own
 * transaction, committed before this resolves.
 */
export async function appendEvents(db: pg.Pool | pg.ClientBase, events: AppendArguments[]): Promise<{ seq: bigint; hash: string }[]> {
  const columns: unknown[][] = Array.from({ length: 14 }, () => new Array<unknown>(events.length));
  events.forEach((args, i) => args.forEach((value, c) => (columns[c]![i] = value)));
  const { rows } = await db.query<{ n: string; seq: string; hash: string }>(
    `SELECT t.n::text AS n, a.out_seq::text AS seq, a.out_hash AS hash
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
            WITH ORDINALITY AS t(actor_kind, actor_id, actor_label, action, target_kind, target_id, target_label, outcome,
                                 source_address, request_id, details, canon_1, canon_2, canon_3, n)
      CROSS JOIN LATERAL berth_audit_append(t.actor_kind::"ActorKind", t.actor_id, t.actor_label, t.action, t.target_kind,
                                            t.target_id, t.target_label, t.outcome::"AuditOutcome", t.source_address,
                                            t.request_id, t.details::jsonb, t.canon_1, t.canon_2, t.canon_3) AS a`,
    columns,
  );
  if (rows.length !== events.length) throw new Error(`berth_audit_append appended ${rows.length} of ${events.length} events`);
  const result = new Array<{ seq: bigint; hash: string }>(events.length);
  for (const row of rows) result[Number(row.n) - 1] = { seq: BigInt(row.seq), hash: row.hash };
  return result;
}
