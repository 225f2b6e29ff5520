import { getDb } from "@/lib/db/client";
import { chainedFieldsOf, chainHash, GENESIS_HASH } from "./canonical";

export type ChainVerification =
  | { ok: true; checked: number; headHash: string }
  | { ok: false; checked: number; seq: string; problem: "hash_mismatch" | "broken_link"; message: string };

const BATCH = 5000;

/**
 * Walks the whole chain in seq order, in batches (memory stays flat), and
 * names the first event whose hash does not match its content (edited) or
 * whose prev_hash is not the previous event's hash (deleted, inserted or
 * reordered). Seq gaps alone are fine: a rolled-back transaction leaves one.
 */
export async function verifyAuditChain(): Promise<ChainVerification> {
  let previous = GENESIS_HASH;
  let after: bigint = -1n;
  let checked = 0;
  for (;;) {
    const rows = await getDb().auditEvent.findMany({ where: { seq: { gt: after } }, orderBy: { seq: "asc" }, take: BATCH });
    for (const row of rows) {
      const seq = row.seq.toString();
      if (row.prevHash !== previous) {
        return { ok: false, checked, seq, problem: "broken_link", message: `event ${seq} does not follow the event before it: an event was deleted, inserted or reordered here` };
      }
      const expected = chainHash(row.prevHash, chainedFieldsOf(row));
      if (expected !== row.hash) {
        return { ok: false, checked, seq, problem: "hash_mismatch", message: `event ${seq} was altered after it was written: its content no longer matches its hash` };
      }
      previous = row.hash;
      checked += 1;
    }
    if (rows.length < BATCH) return { ok: true, checked, headHash: previous };
    after = rows[rows.length - 1]!.seq;
  }
}
