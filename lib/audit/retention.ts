import type pg from "pg";
import { getDb, getPool } from "@/lib/db/client";
import { recordAuditEvent, AUDIT_CHAIN_LOCK, type AuditActor, type AuditRequest } from "./record-event";
import { PURGE_ACTION } from "./chain-range";

export { PURGE_ACTION };

export type AuditCheckpointView = {
  at: string;
  throughSeq: string;
  continuesFromHash: string;
  purgedCount: string;
  purgedBefore: string;
};

/** The newest checkpoint; `db` reads it in a caller's transaction (the live walk's snapshot). */
export async function latestCheckpoint(db: Pick<pg.ClientBase, "query"> = getPool()): Promise<AuditCheckpointView | null> {
  const { rows } = await db.query<AuditCheckpointView>(
    `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, through_seq::text AS "throughSeq",
            continues_from_hash AS "continuesFromHash", purged_count::text AS "purgedCount",
            to_char(purged_before AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "purgedBefore"
       FROM audit_checkpoints ORDER BY id DESC LIMIT 1`,
  );
  return rows[0] ?? null;
}

export type PurgeResult = { purged: number; checkpoint: AuditCheckpointView | null };

/**
 * BERTH_AUDIT_RETENTION_DAYS, applied (hourly, by the server): purges only
 * when something is old enough, so an idle log does not gain an event an hour.
 */
export async function applyAuditRetention(options: { days: number | null; now?: Date }): Promise<PurgeResult | null> {
  if (options.days === null) return null;
  const before = new Date((options.now ?? new Date()).getTime() - options.days * 86_400_000);
  const { rows } = await getPool().query(`SELECT 1 FROM audit_events WHERE at < $1 LIMIT 1`, [before]);
  if (rows.length === 0) return null;
  return purgeAuditEvents({
    before,
    actor: { kind: "SYSTEM", id: null, label: `audit retention (BERTH_AUDIT_RETENTION_DAYS=${options.days})` },
    request: { requestId: null, sourceAddress: null },
  });
}

/**
 * The one way audit events leave the table. Under the chain lock, in one
 * transaction: find the newest event older than `before`, record a checkpoint
 * saying the chain now continues from that event's hash, delete everything
 * up to it (the table's trigger allows a delete only under a checkpoint), and
 * write an `audit.purge` event naming the checkpoint, which the verifier
 * requires. The event is written even when nothing was old enough, so every
 * purge request is on the record.
 */
export async function purgeAuditEvents(options: { before: Date; actor: AuditActor; request: AuditRequest }): Promise<PurgeResult> {
  return getDb().$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK}::bigint)`;
      const [last] = await tx.$queryRaw<{ seq: bigint; hash: string }[]>`
        SELECT seq, hash FROM audit_events WHERE at < ${options.before} ORDER BY seq DESC LIMIT 1`;
      let checkpoint: AuditCheckpointView | null = null;
      let purged = 0;
      if (last) {
        // Counted first: checkpoints are append-only, so the row is written once, complete.
        const [{ count }] = await tx.$queryRaw<{ count: bigint }[]>`SELECT count(*) AS count FROM audit_events WHERE seq <= ${last.seq}` as [{ count: bigint }];
        const at = new Date();
        await tx.$executeRaw`
          INSERT INTO audit_checkpoints (at, through_seq, continues_from_hash, purged_count, purged_before)
          VALUES (${at}, ${last.seq}, ${last.hash}, ${count}, ${options.before})`;
        purged = await tx.$executeRaw`DELETE FROM audit_events WHERE seq <= ${last.seq}`;
        if (BigInt(purged) !== count) throw new Error(`audit purge deleted ${purged} events but counted ${count}`);
        checkpoint = {
          at: at.toISOString(),
          throughSeq: last.seq.toString(),
          continuesFromHash: last.hash,
          purgedCount: String(purged),
          purgedBefore: options.before.toISOString(),
        };
      }
      await recordAuditEvent(tx, {
        actor: options.actor,
        request: options.request,
        action: PURGE_ACTION,
        target: { kind: "audit_log", label: "audit log" },
        details: {
          before: options.before.toISOString(),
          purged,
          ...(checkpoint ? { throughSeq: checkpoint.throughSeq, continuesFromHash: checkpoint.continuesFromHash } : {}),
        },
      });
      return { purged, checkpoint };
    },
    // A purge of millions of rows takes longer than Prisma's 5 s default.
    { timeout: 600_000, maxWait: 30_000 },
  );
}
