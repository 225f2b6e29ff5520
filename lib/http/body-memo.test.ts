import { describe, expect, it } from "vitest";
import { createBodyMemo } from "./body-memo";

describe("body memo", () => {
  it("gives back the same frozen object for the same caller and the same bytes only", () => {
    const memo = createBodyMemo(10);
    const value = { inventory: { gpus: [{ index: 0 }] } };
    memo.set("server-a", '{"x":1}', value);
    expect(memo.get("server-a", '{"x":1}')).toBe(value);
    expect(memo.get("server-a", '{"x":2}')).toBeUndefined();
    expect(memo.get("server-b", '{"x":1}')).toBeUndefined();
    expect(Object.isFrozen(value.inventory.gpus[0])).toBe(true);
    expect(() => {
      (value.inventory.gpus[0] as { index: number }).index = 5;
    }).toThrow(TypeError);
  });

  it("forgets the least recently stored caller when full", () => {
    const memo = createBodyMemo(2);
    memo.set("a", "1", { a: 1 });
    memo.set("b", "1", { b: 1 });
    memo.set("a", "2", { a: 2 }); // a is now the newest
    memo.set("c", "1", { c: 1 });
    expect(memo.size()).toBe(2);
    expect(memo.get("b", "1")).toBeUndefined();
    expect(memo.get("a", "2")).toEqual({ a: 2 });
    expect(memo.get("c", "1")).toEqual({ c: 1 });
  });
});
