import { type ActorKind, type AuditOutcome } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import { appendStandalone } from "./append-batch";
import { canonicalJson, canonicalParts, type ChainedFields } from "./canonical";
import { scheduleChaining } from "./sequencer";

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

// Any constant works; it names the one lock that gives the chain a single
// order. The same number is in berth_audit_append (the audit migration).
export const AUDIT_CHAIN_LOCK = 0x6265_7274; // "bert"

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

/** berth_audit_append's arguments for one event, in order: checked (action, no secrets), canonical parts cut. */
export type AppendArguments = [
  actorKind: ActorKind, actorId: string | null, actorLabel: string, action: string,
  targetKind: string | null, targetId: string | null, targetLabel: string | null, outcome: AuditOutcome,
  sourceAddress: string | null, requestId: string | null, details: string,
  canon1: string, canon2: string, canon3: string,
];

export function appendArguments(input: AuditEventInput): AppendArguments {
  if (!ACTION_PATTERN.test(input.action)) throw new Error(`audit action must be dotted lowercase, got ${input.action}`);
  const details = input.details ?? {};
  assertNoSecrets(details, "");
  const fields = {
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
  } satisfies Omit<ChainedFields, "seq" | "at">;
  // The stored details are the canonical text itself, so what is hashed and what is kept cannot differ.
  const [canon1, canon2, canon3] = canonicalParts(fields);
  return [
    fields.actorKind, fields.actorId, fields.actorLabel, fields.action, fields.targetKind, fields.targetId, fields.targetLabel,
    fields.outcome, fields.sourceAddress, fields.requestId, canonicalJson(details), canon1, canon2, canon3,
  ];
}

/**
 * Records one event inside the caller's transaction, so the event and the
 * change it records commit or roll back together, and a failed audit write
 * fails the whole action (fail closed). The event goes to `audit_pending`
 * with the time it was recorded, and the sequencer (lib/audit/sequencer.ts)
 * appends it to the chain a few milliseconds after the transaction commits:
 * no chain lock is held through the caller's COMMIT, so audited changes commit
 * in parallel, their WAL flushes shared. Every read of the audit log chains
 * what is pending first.
 * Plain SQL (lib/db/sql.ts), so it runs in a Prisma transaction or a `pg` one.
 */
export async function recordAuditEvent(tx: Tx | Sql, input: AuditEventInput): Promise<void> {
  const args = appendArguments(input);
  await asSql(tx).query(
    `INSERT INTO audit_pending (at, actor_kind, actor_id, actor_label, action, target_kind, target_id, target_label, outcome,
                                source_address, request_id, details, canon_1, canon_2, canon_3)
     VALUES (date_trunc('milliseconds', clock_timestamp()), $1::"ActorKind", $2, $3, $4, $5, $6, $7, $8::"AuditOutcome",
             $9, $10, $11::jsonb, $12, $13, $14)`,
    args,
  );
  scheduleChaining();
}

/**
 * For events with no change beside them: refusals, failed sign-ins, reads of
 * sensitive things. Resolves once the event is committed. Events recorded
 * while an append is in flight go together in the next one (one statement,
 * one transaction, one WAL flush for the batch: lib/audit/append-batch.ts):
 * the chain is serialised, so this is what lets it take more standalone
 * events per second than the disk can flush commits one at a time.
 */
export function recordStandaloneAuditEvent(input: AuditEventInput): Promise<{ seq: bigint; hash: string }> {
  return appendStandalone(appendArguments(input));
}
