import { getDb } from "@/lib/db/client";
import { chainedFieldsOf, type ChainedFields } from "./canonical";

export type AuditEventView = ChainedFields & { prevHash: string; hash: string };

/**
 * Newest first, keyset paged by seq: `before` is the last seq of the previous
 * page, so page N costs the same as page 1 however long the log grows.
 */
export async function listAuditEvents(options: { limit: number; before?: bigint }): Promise<{ events: AuditEventView[]; nextBefore: string | null }> {
  const rows = await getDb().auditEvent.findMany({
    where: options.before === undefined ? {} : { seq: { lt: options.before } },
    orderBy: { seq: "desc" },
    take: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  return {
    events: page.map((row) => ({ ...chainedFieldsOf(row), prevHash: row.prevHash, hash: row.hash })),
    nextBefore: rows.length > options.limit ? (page.at(-1)?.seq.toString() ?? null) : null,
  };
}
