import { getDb } from "@/lib/db/client";

export type AuditEventView = {
  seq: string;
  at: string;
  actorKind: string;
  actorId: string | null;
  actorLabel: string;
  action: string;
  targetKind: string | null;
  targetId: string | null;
  targetLabel: string | null;
  outcome: string;
  sourceAddress: string | null;
  requestId: string | null;
  details: unknown;
  prevHash: string;
  hash: string;
};

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
    events: page.map((row) => ({
      seq: row.seq.toString(),
      at: row.at.toISOString(),
      actorKind: row.actorKind,
      actorId: row.actorId,
      actorLabel: row.actorLabel,
      action: row.action,
      targetKind: row.targetKind,
      targetId: row.targetId,
      targetLabel: row.targetLabel,
      outcome: row.outcome,
      sourceAddress: row.sourceAddress,
      requestId: row.requestId,
      details: row.details,
      prevHash: row.prevHash,
      hash: row.hash,
    })),
    nextBefore: rows.length > options.limit ? (page.at(-1)?.seq.toString() ?? null) : null,
  };
}
