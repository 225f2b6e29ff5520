import { describe, expect, it } from "vitest";
import { prometheusText, recentWindows, recordInference, WINDOW_COUNT } from "./metrics";

describe("recent windows", () => {
  it("keeps 10-second buckets over 15 minutes with counts, errors and percentiles", () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 5);
    for (let i = 1; i <= 100; i++) recordInference({ deployment: "w1", status: i <= 3 ? 503 : 200, latencyMs: i, now });
    recordInference({ deployment: "w1", status: 200, latencyMs: 7, now: now - 60_000 });
    const { windowSeconds, buckets } = recentWindows("w1", now);
    expect(windowSeconds).toBe(10);
    expect(buckets).toHaveLength(WINDOW_COUNT);
    const last = buckets.at(-1)!;
    expect(last.start).toBe("2026-11-25T12:00:00.000Z");
    expect(last).toMatchObject({ count: 100, errors: 3 });
    // Log-spaced bins about 15 % wide: each percentile within 10 % of the exact one.
    expect(last.p50!).toBeGreaterThan(45);
    expect(last.p50!).toBeLessThan(55);
    expect(last.p95!).toBeGreaterThan(85);
    expect(last.p95!).toBeLessThan(105);
    expect(last.p99!).toBeGreaterThanOrEqual(last.p95!);
    expect(buckets.at(-7)).toMatchObject({ count: 1, errors: 0 });
    expect(buckets[0]).toMatchObject({ count: 0, p50: null });
  });

  it("forgets windows older than 15 minutes", () => {
    const now = Date.UTC(2026, 10, 25, 13, 0, 0);
    recordInference({ deployment: "w2", status: 200, latencyMs: 1, now: now - 20 * 60_000 });
    recordInference({ deployment: "w2", status: 200, latencyMs: 1, now });
    expect(recentWindows("w2", now).buckets.reduce((sum, b) => sum + b.count, 0)).toBe(1);
    expect(recentWindows("never-seen", now).buckets.every((b) => b.count === 0)).toBe(true);
  });

  it("counts no-answer (status 0) as an error in the Prometheus series", async () => {
    recordInference({ deployment: "w3", status: 0, latencyMs: 2 });
    const { body } = await prometheusText();
    expect(body).toContain('berth_inference_errors_total{deployment="w3"} 1');
    expect(body).toContain('berth_inference_requests_total{deployment="w3",code="0"} 1');
    // No database in unit tests: the scrape still answers, and says the database is down.
    expect(body).toContain("berth_database_up 0");
  });
});
