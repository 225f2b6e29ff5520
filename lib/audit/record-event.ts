import { type ActorKind, type AuditOutcome } from "@prisma/client";
import { getDb, type Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import { chainHash, GENESIS_HASH, type ChainedFields } from "./canonical";

export type AuditActor = { kind: ActorKind; id: string | null; label: string };
export type AuditRequest = { requestId: string | null; sourceAddress: string | null };
export type AuditTarget = { kind: string; id?: string | null; label?: string | null };

export type AuditEventInput = {
  actor: AuditActor;
  request: AuditRequest;
  action: string;
  target?: AuditTarget;
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
};

export const SYSTEM_ACTOR: AuditActor = { kind: "SYSTEM", id: null, label: "system" };

// Any constant works; it names the one lock that gives the chain a single order.
const AUDIT_CHAIN_LOCK = 0x6265_7274; // "bert"

const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
// Keys that would hold a secret. Audit details must never carry one, so a
// match is a programming error: it fails the action rather than leak.
const SECRET_KEY = /(password|passwd|secret|credential|^token$|bearer|authorization|cookie)/i;

function assertNoSecrets(value: unknown, path: string): void {
  if (value === null || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_KEY.test(key)) throw new Error(`audit details must not contain secrets (key ${path}${key})`);
    assertNoSecrets(child, `${path}${key}.`);
  }
}

/**
 * Appends one event to the chain inside the caller's transaction, so the event
 * and the change it records commit or roll back together. Inserts take one
 * transaction-scoped advisory lock: the chain has a single order, and a failed
 * audit write fails the whole action (fail closed). Plain SQL (lib/db/sql.ts):
 * it runs in every mutation, on the deployment paths inside a `pg` transaction.
 */
export async function recordAuditEvent(tx: Tx | Sql, input: AuditEventInput): Promise<{ seq: bigint; hash: string }> {
  if (!ACTION_PATTERN.test(input.action)) throw new Error(`audit action must be dotted lowercase, got ${input.action}`);
  const details = input.details ?? {};
  assertNoSecrets(details, "");

  const sql = asSql(tx);
  await sql.query("SELECT pg_advisory_xact_lock($1::bigint)::text", [AUDIT_CHAIN_LOCK]);
  const [head] = await sql.query<{ prev: string | null; seq: string }>(
    `SELECT (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1) AS prev,
            nextval(pg_get_serial_sequence('audit_events', 'seq'))::text AS seq`,
  );
  if (!head) throw new Error("audit chain head query returned nothing");
  const prevHash = head.prev ?? GENESIS_HASH;
  const at = new Date();
  const fields: ChainedFields = {
    seq: head.seq,
    at: at.toISOString(),
    actorKind: input.actor.kind,
    actorId: input.actor.id,
    actorLabel: input.actor.label,
    action: input.action,
    targetKind: input.target?.kind ?? null,
    targetId: input.target?.id ?? null,
    targetLabel: input.target?.label ?? null,
    outcome: input.outcome ?? "SUCCESS",
    sourceAddress: input.request.sourceAddress,
    requestId: input.request.requestId,
    details,
  };
  const hash = chainHash(prevHash, fields);
  await sql.query(
    `INSERT INTO audit_events (seq, at, actor_kind, actor_id, actor_label, action, target_kind, target_id, target_label, outcome, source_address, request_id, details, prev_hash, hash)
     VALUES ($1::bigint, $2::timestamptz, $3::"ActorKind", $4, $5, $6, $7, $8, $9, $10::"AuditOutcome", $11, $12, $13::jsonb, $14, $15)`,
    [
      fields.seq,
      fields.at,
      fields.actorKind,
      fields.actorId,
      fields.actorLabel,
      fields.action,
      fields.targetKind,
      fields.targetId,
      fields.targetLabel,
      fields.outcome,
      fields.sourceAddress,
      fields.requestId,
      JSON.stringify(details),
      prevHash,
      hash,
    ],
  );
  return { seq: BigInt(head.seq), hash };
}

/** For events with no change beside them: refusals, failed sign-ins, reads of sensitive things. */
export async function recordStandaloneAuditEvent(input: AuditEventInput): Promise<{ seq: bigint; hash: string }> {
  return getDb().$transaction((tx) => recordAuditEvent(tx, input));
}
