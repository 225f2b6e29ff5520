import nodeCrypto, { createHash, randomBytes } from "node:crypto";

/**
 * The hash chain's canonical form. Each event's hash is
 *   SHA-256( prev_hash + "\n" + canonical_json(event) )  as lowercase hex,
 * where canonical_json is JSON with object keys sorted by code point, no
 * whitespace, and every field present (null when empty). The first event's
 * prev_hash is GENESIS_HASH (or, after a retention purge, the checkpoint's
 * continuesFromHash). docs/audit-verification.md states the same so an
 * auditor can check an export in any language.
 */
export const GENESIS_HASH = "0".repeat(64);

/** What the first line of a JSON Lines export says it is (lib/audit/export.ts writes it, verify-export.ts checks it). */
export const AUDIT_EXPORT_KIND = "berth-audit-export";
export const AUDIT_EXPORT_VERSION = 1;

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
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("canonical JSON has no form for non-finite numbers");
    if (value === undefined) return "null";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) text += i === 0 ? canonicalJson(value[i]) : `,${canonicalJson(value[i])}`;
    return `${text}]`;
  }
  // sort() with no comparator orders strings by UTF-16 code units, as the documented form says.
  const keys = Object.keys(value);
  if (keys.length > 1) keys.sort();
  let text = "{";
  for (const key of keys) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined) continue;
    if (text.length > 1) text += ",";
    text += `${JSON.stringify(key)}:${canonicalJson(child)}`;
  }
  return `${text}}`;
}

const text = (value: string | null) => (value === null ? "null" : JSON.stringify(value));

/**
 * canonicalJson(fields) for an event, written out with its 13 keys already in
 * order (the verifiers run it a million times a walk). Only when every field
 * but details is a string or null, as ChainedFields says; anything else (a
 * field missing from a tampered export) goes through canonicalJson, which
 * stays the one definition: canonical.test.ts checks that the two agree.
 */
export function canonicalEventJson(f: ChainedFields): string {
  if (
    typeof f.seq !== "string" || typeof f.at !== "string" || typeof f.actorKind !== "string" || typeof f.actorLabel !== "string" ||
    typeof f.action !== "string" || typeof f.outcome !== "string" ||
    [f.actorId, f.targetKind, f.targetId, f.targetLabel, f.sourceAddress, f.requestId].some((v) => v !== null && typeof v !== "string") ||
    f.details === undefined ||
    Object.keys(f).length !== 13
  ) {
    return canonicalJson(f);
  }
  return canonicalRowJson(f);
}

/**
 * canonicalEventJson for an event read from the table, whose fields are
 * strings or null by the column types (the live walk's million rows skip the
 * shape check; everything else goes through canonicalEventJson).
 */
export function canonicalRowJson(f: ChainedFields): string {
  return (
    `{"action":${JSON.stringify(f.action)},"actorId":${text(f.actorId)},"actorKind":${JSON.stringify(f.actorKind)},"actorLabel":${JSON.stringify(f.actorLabel)},` +
    `"at":${JSON.stringify(f.at)},"details":${canonicalJson(f.details)},"outcome":${JSON.stringify(f.outcome)},"requestId":${text(f.requestId)},` +
    `"seq":${JSON.stringify(f.seq)},"sourceAddress":${text(f.sourceAddress)},"targetId":${text(f.targetId)},"targetKind":${text(f.targetKind)},` +
    `"targetLabel":${text(f.targetLabel)}}`
  );
}

// crypto.hash (Node 20.12+) hashes a string in one call, without a Hash object per event.
const sha256Hex: (text: string) => string =
  typeof nodeCrypto.hash === "function" ? (text) => nodeCrypto.hash("sha256", text, "hex") : (text) => createHash("sha256").update(text).digest("hex");

export function chainHash(prevHash: string, fields: ChainedFields): string {
  return sha256Hex(`${prevHash}\n${canonicalEventJson(fields)}`);
}

/** chainHash for an event read from the table (canonicalRowJson). */
export function rowChainHash(prevHash: string, fields: ChainedFields): string {
  return sha256Hex(`${prevHash}\n${canonicalRowJson(fields)}`);
}

/**
 * The canonical JSON of an event whose `at` and `seq` are not known yet (the
 * database assigns both under the chain lock), as three parts:
 *   canonical = parts[0] + at + parts[1] + seq + parts[2]
 * Built by rendering canonicalJson with unguessable placeholders and cutting
 * at them, so key order and escaping come from canonicalJson alone.
 */
export function canonicalParts(fields: Omit<ChainedFields, "seq" | "at">): [string, string, string] {
  const nonce = randomBytes(12).toString("hex");
  const atMark = `@@at-${nonce}@@`;
  const seqMark = `@@seq-${nonce}@@`;
  const text = canonicalJson({ ...fields, at: atMark, seq: seqMark });
  const [before, rest, ...extraAt] = text.split(atMark);
  if (rest === undefined || extraAt.length) throw new Error("canonicalParts: the at placeholder must occur exactly once");
  const [middle, after, ...extraSeq] = rest.split(seqMark);
  if (after === undefined || extraSeq.length) throw new Error("canonicalParts: the seq placeholder must occur after at, exactly once");
  return [before!, middle!, after];
}
