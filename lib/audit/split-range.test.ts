import { describe, expect, it } from "vitest";
import { splitRange } from "./verify-chain";

describe("splitRange", () => {
  it("cuts (after, through] into contiguous ranges that cover it exactly, each non-empty", () => {
    for (const [after, through, count] of [["-1", "1000004", 8], ["7", "10", 8], ["0", "1", 4], ["99", "9223372036854775807", 3]] as const) {
      const ranges = splitRange({ after, through }, count);
      expect(ranges.length).toBe(Math.min(count, Number(BigInt(through) - BigInt(after))));
      expect(ranges[0]!.after).toBe(after);
      expect(ranges.at(-1)!.through).toBe(through);
      ranges.forEach((range, i) => {
        expect(BigInt(range.through) > BigInt(range.after), JSON.stringify(range)).toBe(true);
        if (i > 0) expect(range.after).toBe(ranges[i - 1]!.through);
      });
    }
  });
});
