import { getDb, getPool } from "@/lib/db/client";
import { emitWebhookEvent } from "@/lib/webhooks/emit";
import { recordAuditEvent, type AuditActor, type AuditRequest } from "./record-event";
import { GENESIS_HASH } from "./canonical";
import { ChainWalker, chainedFieldsOfRow, type ChainProblem } from "./chain-walker";
import { AUDIT_COLUMNS, type AuditRow } from "./filters";
import { latestCheckpoint, PURGE_ACTION, type AuditCheckpointView } from "./retention";
import { chainPendingEvents } from "./sequencer";

export type ChainVerification = {
  checked: number;
  durationMs: number;
  checkpoint: AuditCheckpointView | null;
} & (
  | { ok: true; headSeq: string | null; headHash: string }
  | ({ ok: false } & ChainProblem)
);

const BATCH = 10_000;
const YIELD_EVERY = 500;

function readBatch(afterSeq: bigint): Promise<AuditRow[]> {
  return getPool()
    .query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY audit_events.seq LIMIT ${BATCH}`, [afterSeq.toString()])
    .then((result) => result.rows);
}

/**
 * Walks the whole chain in seq order and names the first event that fails.
 * Reads through the raw pool in batches of 10,000, fetching the next batch
 * while hashing this one, so memory stays flat and the database and the hash
 * overlap (bench/audit: 1M events). After a retention purge the walk starts
 * from the newest checkpoint, which must be corroborated by its own
 * `audit.purge` event further down the chain, so a forged checkpoint (a way
 * to hide deleted events) is caught too. Seq gaps alone are fine: a
 * rolled-back transaction leaves one.
 */
export async function verifyAuditChain(): Promise<ChainVerification> {
  const started = performance.now();
  await chainPendingEvents();
  const checkpoint = await latestCheckpoint();
  const walker = new ChainWalker({
    prevHash: checkpoint?.continuesFromHash ?? GENESIS_HASH,
    afterSeq: checkpoint ? BigInt(checkpoint.throughSeq) : null,
  });
  let corroborated = checkpoint === null;
  const result = (fields: { ok: true } | ({ ok: false } & ChainProblem)): ChainVerification =>
    fields.ok
      ? { ok: true, checked: walker.checked, durationMs: Math.round(performance.now() - started), checkpoint, headSeq: walker.headSeq, headHash: walker.headHash }
      : { ...fields, checked: walker.checked, durationMs: Math.round(performance.now() - started), checkpoint };

  let next = readBatch(checkpoint ? BigInt(checkpoint.throughSeq) : -1n);
  for (;;) {
    const rows = await next;
    if (rows.length === BATCH) next = readBatch(BigInt(rows.at(-1)!.seq));
    for (let i = 0; i < rows.length; i++) {
      // Hashing a batch takes longer than the database needs for the next one; without a turn of
      // the event loop now and then, the next batch would sit in a full socket buffer, the database
      // waiting for it to drain, instead of arriving while this one is hashed.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
      const row = rows[i]!;
      const fields = chainedFieldsOfRow(row);
      const problem = walker.event(fields, row.prevHash, row.hash);
      if (problem) return result({ ok: false, ...problem });
      if (!corroborated && row.action === PURGE_ACTION && checkpoint) corroborated = corroborates(fields.details, checkpoint);
    }
    if (rows.length < BATCH) break;
  }
  if (!corroborated && checkpoint) {
    return result({
      ok: false,
      seq: checkpoint.throughSeq,
      problem: "broken_link",
      message: `the retention checkpoint through event ${checkpoint.throughSeq} has no matching ${PURGE_ACTION} event in the chain: events may have been deleted outside the purge path`,
    });
  }
  return result({ ok: true });
}

function corroborates(details: unknown, checkpoint: AuditCheckpointView): boolean {
  if (typeof details !== "object" || details === null) return false;
  const d = details as Record<string, unknown>;
  return d.throughSeq === checkpoint.throughSeq && d.continuesFromHash === checkpoint.continuesFromHash;
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
