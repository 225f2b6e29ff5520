import { describe, expect, it } from "vitest";
import { ZStatusReport, type ReplicaStatus, type StatusReport } from "@/lib/protocol/agent";
import { createStatusReporter } from "./status-reporter";

const replica = (over: Partial<ReplicaStatus> = {}): ReplicaStatus => ({
  replicaId: "r1",
  deploymentId: "d1",
  phase: "ready",
  containerId: "c1",
  endpoint: "http://10.0.0.5:49153",
  hostPort: 49153,
  restartCount: 0,
  message: null,
  observedGeneration: 3,
  progress: null,
  logTail: null,
  ...over,
});

function setup() {
  const state = { replicas: [replica()], lines: ["a", "b"], fail: false };
  const sent: StatusReport[] = [];
  const conditions: string[] = [];
  const reporter = createStatusReporter({
    snapshot: () => ({ observedGeneration: 3, replicas: state.replicas }),
    logTail: async () => state.lines,
    send: async (report) => {
      if (state.fail) throw new Error("HTTP 503");
      sent.push(report);
    },
    periodMs: () => 10_000,
    signal: new AbortController().signal,
    onCondition: (c) => conditions.push(c),
    minGapMs: 500,
    logRefreshMs: 1000,
  });
  return { state, sent, conditions, reporter };
}

describe("status reporter", () => {
  it("sends on change, with log tails only when they changed, and a valid ZStatusReport", async () => {
    const { state, sent, reporter } = setup();
    const t = 1_000_000;
    expect(await reporter.check(t)).toBe(true);
    expect(ZStatusReport.safeParse(sent[0]).success).toBe(true);
    expect(sent[0]?.replicas[0]?.logTail).toEqual(["a", "b"]);
    expect(await reporter.check(t + 1000)).toBe(false); // nothing changed
    state.replicas = [replica({ phase: "unhealthy", message: "probe failed" })];
    expect(await reporter.check(t + 1100)).toBe(true);
    expect(sent[1]?.replicas[0]).toMatchObject({ phase: "unhealthy", logTail: null }); // same lines: not sent again
    state.lines = ["a", "b", "c"];
    expect(await reporter.check(t + 2200)).toBe(true); // new log lines are a change
    expect(sent[2]?.replicas[0]?.logTail).toEqual(["a", "b", "c"]);
  });

  it("sends at most every minGap, and at least every period", async () => {
    const { state, sent, reporter } = setup();
    const t = 2_000_000;
    await reporter.check(t);
    state.replicas = [replica({ restartCount: 1 })];
    expect(await reporter.check(t + 100)).toBe(false); // changed, but too soon
    expect(await reporter.check(t + 600)).toBe(true);
    expect(await reporter.check(t + 5000)).toBe(false);
    expect(await reporter.check(t + 600 + 10_000)).toBe(true); // the heartbeat period
    expect(sent).toHaveLength(3);
  });

  it("backs off after a failed send and logs one condition change each way", async () => {
    const { state, sent, conditions, reporter } = setup();
    state.fail = true;
    const t = Date.now();
    expect(await reporter.check(t)).toBe(false);
    expect(await reporter.check(t)).toBe(false); // within the back-off: not even tried
    expect(await reporter.check(t + 60_000)).toBe(false);
    expect(conditions).toEqual(["failing"]);
    state.fail = false;
    expect(await reporter.check(t + 120_000)).toBe(true);
    expect(conditions).toEqual(["failing", "ok"]);
    expect(sent[0]?.replicas[0]?.logTail).toEqual(["a", "b"]); // the tail that never got through is sent
  });

  it("drops replicas that are gone (absent = no container)", async () => {
    const { state, sent, reporter } = setup();
    await reporter.check(3_000_000);
    state.replicas = [];
    expect(await reporter.check(3_001_000)).toBe(true);
    expect(sent[1]?.replicas).toEqual([]);
  });

  it("reports at once when nudged, not at its next tick", async () => {
    const stop = new AbortController();
    const state = { replicas: [replica({ phase: "starting", endpoint: null, hostPort: null })] };
    const sentAt: number[] = [];
    const reporter = createStatusReporter({
      snapshot: () => ({ observedGeneration: 3, replicas: state.replicas }),
      logTail: async () => [],
      send: async () => void sentAt.push(Date.now()),
      periodMs: () => 60_000,
      signal: stop.signal,
      checkMs: 60_000,
      minGapMs: 0,
    });
    const running = reporter.run();
    await new Promise((r) => setTimeout(r, 50));
    expect(sentAt).toHaveLength(1); // the first look
    state.replicas = [replica()];
    const nudgedAt = Date.now();
    reporter.nudge();
    await new Promise((r) => setTimeout(r, 100));
    expect(sentAt).toHaveLength(2);
    expect(sentAt[1]! - nudgedAt).toBeLessThan(100);
    stop.abort();
    await running;
  });

  it("sends a phase change at once even right after a report, and keeps a nudge that came while a report was on its way", async () => {
    const stop = new AbortController();
    const state = { replicas: [replica({ phase: "starting", endpoint: null, hostPort: null })] };
    const sent: StatusReport[] = [];
    let gate: Promise<void> | null = null;
    const reporter = createStatusReporter({
      snapshot: () => ({ observedGeneration: 3, replicas: state.replicas }),
      logTail: async () => [],
      send: async (report) => {
        sent.push(report);
        await gate;
      },
      periodMs: () => 60_000,
      signal: stop.signal,
      checkMs: 60_000,
      minGapMs: 60_000,
    });
    const running = reporter.run();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(1);
    let release = () => {};
    gate = new Promise((resolve) => (release = resolve));
    state.replicas = [replica({ phase: "starting", endpoint: null, hostPort: 49153 })];
    reporter.nudge(); // within minGapMs of the first report: goes anyway
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(2);
    state.replicas = [replica()];
    reporter.nudge(); // while the second report is still being sent
    gate = null;
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent).toHaveLength(3);
    expect(sent[2]?.replicas[0]?.phase).toBe("ready");
    stop.abort();
    await running;
  });

  it("sends a phase change without waiting for the log tail, and the new lines with the next look", async () => {
    const stop = new AbortController();
    const state = { replicas: [replica({ phase: "starting" })], lines: ["loading"] };
    const sent: StatusReport[] = [];
    let logs: Promise<void> | null = null;
    const reporter = createStatusReporter({
      snapshot: () => ({ observedGeneration: 3, replicas: state.replicas }),
      logTail: async () => {
        await logs;
        return state.lines;
      },
      send: async (report) => void sent.push(report),
      periodMs: () => 60_000,
      signal: stop.signal,
      checkMs: 100,
      minGapMs: 0,
    });
    const running = reporter.run();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent[0]?.replicas[0]?.logTail).toEqual(["loading"]);
    let release = () => {};
    logs = new Promise((resolve) => (release = resolve)); // Docker's log API is slow now
    state.replicas = [replica()];
    state.lines = ["loading", "model loaded"];
    reporter.nudge();
    await new Promise((r) => setTimeout(r, 30));
    expect(sent).toHaveLength(2);
    expect(sent[1]?.replicas[0]).toMatchObject({ phase: "ready", logTail: null });
    release();
    await new Promise((r) => setTimeout(r, 150));
    expect(sent).toHaveLength(3);
    expect(sent[2]?.replicas[0]?.logTail).toEqual(["loading", "model loaded"]);
    stop.abort();
    await running;
  });

  it("sends a change held back by minGap as soon as the gap allows, not at the next tick", async () => {
    const stop = new AbortController();
    const state = { replicas: [replica({ restartCount: 0 })] };
    const sentAt: number[] = [];
    const reporter = createStatusReporter({
      snapshot: () => ({ observedGeneration: 3, replicas: state.replicas }),
      logTail: async () => [],
      send: async () => void sentAt.push(Date.now()),
      periodMs: () => 60_000,
      signal: stop.signal,
      checkMs: 250,
      minGapMs: 260,
    });
    const running = reporter.run();
    await new Promise((r) => setTimeout(r, 20));
    state.replicas = [replica({ restartCount: 1 })]; // seen at the next look (250 ms), held until 260 ms after the first report
    await new Promise((r) => setTimeout(r, 600));
    expect(sentAt).toHaveLength(2);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(255);
    expect(sentAt[1]! - sentAt[0]!).toBeLessThan(450); // the look after that would be at 500 ms
    stop.abort();
    await running;
  });
});
