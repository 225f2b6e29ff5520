import { type Prisma, type ActorKind, type AuditOutcome } from "@prisma/client";
import { getDb, type Tx } from "@/lib/db/client";
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
 * audit write fails the whole action (fail closed).
 */
export async function recordAuditEvent(tx: Tx, input: AuditEventInput): Promise<{ seq: bigint; hash: string }> {
  if (!ACTION_PATTERN.test(input.action)) throw new Error(`audit action must be dotted lowercase, got ${input.action}`);
  const details = input.details ?? {};
  assertNoSecrets(details, "");

  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK}::bigint)`;
  const [head] = await tx.$queryRaw<{ prev: string | null; seq: bigint }[]>`
    SELECT (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1) AS prev,
           nextval(pg_get_serial_sequence('audit_events', 'seq')) AS seq`;
  if (!head) throw new Error("audit chain head query returned nothing");
  const prevHash = head.prev ?? GENESIS_HASH;
  const at = new Date();
  const fields: ChainedFields = {
    seq: head.seq.toString(),
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
  await tx.auditEvent.create({
    data: {
      seq: head.seq,
      at,
      actorKind: input.actor.kind,
      actorId: fields.actorId,
      actorLabel: fields.actorLabel,
      action: fields.action,
      targetKind: fields.targetKind,
      targetId: fields.targetId,
      targetLabel: fields.targetLabel,
      outcome: input.outcome ?? "SUCCESS",
      sourceAddress: fields.sourceAddress,
      requestId: fields.requestId,
      details: details as Prisma.InputJsonObject,
      prevHash,
      hash,
    },
  });
  return { seq: head.seq, hash };
}

/** For events with no change beside them: refusals, failed sign-ins, reads of sensitive things. */
export async function recordStandaloneAuditEvent(input: AuditEventInput): Promise<{ seq: bigint; hash: string }> {
  return getDb().$transaction((tx) => recordAuditEvent(tx, input));
}
