import { createHash } from "node:crypto";

/**
 * The hash chain's canonical form. Each event's hash is
 *   SHA-256( prev_hash + "\n" + canonical_json(event) )  as lowercase hex,
 * where canonical_json is JSON with object keys sorted by code point, no
 * whitespace, and every field present (null when empty). The first event's
 * prev_hash is GENESIS_HASH. docs/audit-verification.md states the same so an
 * auditor can check an export in any language.
 */
export const GENESIS_HASH = "0".repeat(64);

export type ChainedFields = {
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
};

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("canonical JSON has no form for non-finite numbers");
    if (value === undefined) return "null";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function chainHash(prevHash: string, fields: ChainedFields): string {
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(fields)).digest("hex");
}

/** The chained fields of a stored event, in their canonical types (seq as a string, time as ISO 8601). */
export function chainedFieldsOf(row: Omit<ChainedFields, "seq" | "at"> & { seq: bigint; at: Date }): ChainedFields {
  // Field by field: a stored row carries more than the chained fields (prev_hash, hash).
  return {
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
  };
}
