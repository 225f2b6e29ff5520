import { describe, expect, it } from "vitest";
import { createBatchedRead } from "./batched-read";

describe("batched reads", () => {
  it("answers every caller from batches of at most maxBatch distinct keys, one statement at a time", async () => {
    const batches: string[][] = [];
    let running = 0;
    let most = 0;
    const read = createBatchedRead(
      async (keys) => {
        batches.push(keys);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return new Map(keys.filter((k) => k !== "missing").map((k) => [k, `value of ${k}`]));
      },
      { maxBatch: 100 },
    );
    const keys = [...Array.from({ length: 250 }, (_, i) => `k${i % 200}`), "missing"];
    const values = await Promise.all(keys.map(read));
    expect(values).toEqual(keys.map((k) => (k === "missing" ? undefined : `value of ${k}`)));
    // 251 callers asked in one turn: 100, 100, then k0..k49 again and "missing" (51 distinct keys).
    expect(batches.map((b) => b.length)).toEqual([100, 100, 51]);
    expect(batches.every((b) => new Set(b).size === b.length)).toBe(true);
    expect(most).toBe(1);
  });

  it("fails the callers of a failed batch only", async () => {
    let calls = 0;
    const read = createBatchedRead(async (keys) => {
      if (++calls === 1) throw new Error("database gone");
      return new Map(keys.map((k) => [k, k.length]));
    });
    const first = await Promise.allSettled(["a", "bb"].map(read));
    expect(first.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await read("ccc")).toBe(3);
  });
});
