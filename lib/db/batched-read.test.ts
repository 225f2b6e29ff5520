import { describe, expect, it } from "vitest";
import { createBatchedRead } from "./batched-read";

describe("batched reads", () => {
  it("answers every caller from batches of at most maxBatch keys, several full batches at once, never more than maxInFlight", async () => {
    const batches: string[][] = [];
    let running = 0;
    let most = 0;
    const read = createBatchedRead(
      async (keys) => {
        batches.push(keys);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return new Map(keys.filter((k) => k !== "missing").map((k) => [k, `value of ${k}`]));
      },
      { maxBatch: 100, maxInFlight: 3 },
    );
    const keys = [...Array.from({ length: 450 }, (_, i) => `k${i}`), "missing", "k7"];
    const values = await Promise.all(keys.map(read));
    expect(values).toEqual(keys.map((k) => (k === "missing" ? undefined : `value of ${k}`)));
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(100);
    expect(most).toBe(3);
    expect(batches.flat().filter((k) => k === "k7")).toHaveLength(2); // asked first and last: two batches
  });

  it("fails the callers of a failed batch only", async () => {
    let calls = 0;
    const read = createBatchedRead(async (keys) => {
      if (++calls === 1) throw new Error("database gone");
      return new Map(keys.map((k) => [k, k.length]));
    });
    const first = Promise.allSettled(["a", "bb"].map(read));
    expect((await first).map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(await read("ccc")).toBe(3);
  });
});
