import { describe, expect, it } from "vitest";
import { canonicalEventJson, canonicalJson, chainHash, GENESIS_HASH, type ChainedFields } from "./canonical";

const event: ChainedFields = {
  seq: "1",
  at: "2026-11-25T10:00:00.000Z",
  actorKind: "USER",
  actorId: "u1",
  actorLabel: "ada@example.com",
  action: "token.create",
  targetKind: "api_token",
  targetId: "t1",
  targetLabel: "ci",
  outcome: "SUCCESS",
  sourceAddress: "10.0.0.1",
  requestId: "r1",
  details: { role: "VIEWER", nested: { b: 1, a: [2, { z: true, y: null }] } },
};

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: "x" } })).toBe('{"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1}');
  });

  it("is independent of key insertion order (PostgreSQL jsonb reorders keys)", () => {
    const reordered = { ...event, details: { nested: { a: [2, { y: null, z: true }], b: 1 }, role: "VIEWER" } };
    expect(canonicalJson(reordered)).toBe(canonicalJson(event));
  });

  it("escapes strings as JSON does, including quotes and unicode", () => {
    expect(canonicalJson({ s: 'a"b\\c\n\u00e9' })).toBe(JSON.stringify({ s: 'a"b\\c\n\u00e9' }));
  });

  it("refuses numbers that have no JSON form", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });
});

describe("chainHash", () => {
  it("matches an independently computed SHA-256 of prev + newline + canonical form", async () => {
    const { createHash } = await import("node:crypto");
    const manual = createHash("sha256").update(`${GENESIS_HASH}\n${canonicalJson(event)}`).digest("hex");
    expect(chainHash(GENESIS_HASH, event)).toBe(manual);
    expect(manual).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes when any field or the previous hash changes", () => {
    const base = chainHash(GENESIS_HASH, event);
    expect(chainHash("1".repeat(64), event)).not.toBe(base);
    for (const key of Object.keys(event) as (keyof ChainedFields)[]) {
      const altered = { ...event, [key]: key === "details" ? { role: "ADMIN" } : `${String(event[key])}x` };
      expect(chainHash(GENESIS_HASH, altered), key).not.toBe(base);
    }
  });
});

describe("canonicalEventJson", () => {
  it("is canonicalJson of the event, for every shape a stored or exported event can take", () => {
    const variants: ChainedFields[] = [
      event,
      { ...event, actorId: null, targetKind: null, targetId: null, targetLabel: null, sourceAddress: null, requestId: null, details: {} },
      { ...event, actorLabel: 'q"uote\\ \n\u2028 ünï \u0001 😀', action: "a.b", details: { z: [1, "2", null, { b: 0.5, a: -1e21 }], "": true, é: "x" } },
      { ...event, details: null },
    ];
    for (const fields of variants) expect(canonicalEventJson(fields)).toBe(canonicalJson(fields));
    // A tampered export may lack fields or carry other types: the general form decides those.
    const odd = [{ ...event, details: undefined }, { ...event, seq: 5 }, { ...event, extra: "x" }, { ...event, actorId: undefined }, Object.fromEntries(Object.entries(event).filter(([key]) => key !== "requestId"))];
    for (const fields of odd) expect(canonicalEventJson(fields as unknown as ChainedFields)).toBe(canonicalJson(fields));
  });
});
