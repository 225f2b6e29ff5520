import { describe, expect, it } from "vitest";
import { retryDelayMs, sleep } from "./backoff";

describe("retryDelayMs", () => {
  it.each([
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0, 1000],
    [3, 1, 4000],
    [5, 0.5, 12000],
    [6, 1, 30000],
    [50, 0, 15000],
    [50, 1, 30000],
  ])("after %i failures with random %f waits %i ms", (failures, random, expected) => {
    expect(retryDelayMs(failures, () => random)).toBe(expected);
  });

  it("never exceeds 30 s and is spread out (jitter)", () => {
    const delays = Array.from({ length: 200 }, () => retryDelayMs(20));
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(15_000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe("sleep", () => {
  it("ends early when aborted", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    expect(await sleep(10_000, controller.signal)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
