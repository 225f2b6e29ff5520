import { describe, expect, it } from "vitest";
import type { Workload } from "@/lib/protocol/agent";
import { planReplica, restartDelayMs, type ObservedContainer, type ReplicaMemory } from "./plan";

const w = { replicaId: "r1", specHash: "A" } as Workload;
const memory = (over: Partial<ReplicaMemory> = {}): ReplicaMemory => ({
  phase: "pending",
  containerId: null,
  failedSpecHash: null,
  crashedContainerId: null,
  restartDueAt: null,
  lastProbeAt: 0,
  ...over,
});
const c = (id: string, specHash: string, state: string, createdAt = 1): ObservedContainer => ({ id, specHash, state, createdAt });
const NOW = 1_000_000;

// The reconcile decision as a table (Nomad never tested its diffAllocs; Berth does).
describe("planReplica", () => {
  it.each<[string, Workload | null, ObservedContainer[], ReplicaMemory, unknown]>([
    ["not desired, no container: forget it", null, [], memory(), { kind: "forget" }],
    ["not desired, containers: remove them all", null, [c("x", "A", "running"), c("y", "B", "exited")], memory({ phase: "ready" }), { kind: "remove", containerIds: ["x", "y"] }],
    ["desired, nothing there: create", w, [], memory(), { kind: "create" }],
    ["desired, same spec running and known ready, probed recently: nothing", w, [c("x", "A", "running")], memory({ phase: "ready", containerId: "x", lastProbeAt: NOW - 100 }), { kind: "none" }],
    ["desired, same spec running and ready, probe due", w, [c("x", "A", "running")], memory({ phase: "ready", containerId: "x", lastProbeAt: NOW - 10_000 }), { kind: "probe", containerId: "x" }],
    ["unhealthy is probed too", w, [c("x", "A", "running")], memory({ phase: "unhealthy", containerId: "x" }), { kind: "probe", containerId: "x" }],
    ["desired, same spec running but unknown (agent restarted): adopt and await ready", w, [c("x", "A", "running")], memory(), { kind: "await-ready", containerId: "x" }],
    ["desired, other spec: replace", w, [c("x", "B", "running")], memory({ phase: "ready", containerId: "x" }), { kind: "replace", containerIds: ["x"] }],
    ["duplicates of the same spec: keep the running one, remove the rest", w, [c("old", "A", "exited", 1), c("run", "A", "running", 2), c("new", "A", "created", 3)], memory(), { kind: "replace", containerIds: ["old", "new"] }],
    ["created, never started: start", w, [c("x", "A", "created")], memory(), { kind: "start", containerId: "x" }],
    ["exited, not yet counted: a crash", w, [c("x", "A", "exited")], memory({ phase: "ready", containerId: "x" }), { kind: "crashed", containerId: "x" }],
    ["dead counts as exited", w, [c("x", "A", "dead")], memory(), { kind: "crashed", containerId: "x" }],
    ["exited and counted, back-off not over: wait", w, [c("x", "A", "exited")], memory({ crashedContainerId: "x", restartDueAt: NOW + 1 }), { kind: "none" }],
    ["exited and counted, back-off over: restart", w, [c("x", "A", "exited")], memory({ crashedContainerId: "x", restartDueAt: NOW }), { kind: "restart", containerId: "x" }],
    ["failed for this spec: left alone", w, [c("x", "A", "exited")], memory({ phase: "failed", failedSpecHash: "A", crashedContainerId: "x" }), { kind: "none" }],
    ["failed for an older spec: the new spec replaces it", w, [c("x", "B", "exited")], memory({ phase: "failed", failedSpecHash: "B" }), { kind: "replace", containerIds: ["x"] }],
    ["failed for an older spec, container gone: create", w, [], memory({ phase: "failed", failedSpecHash: "B" }), { kind: "create" }],
    ["paused or restarting: someone else is acting", w, [c("x", "A", "paused")], memory(), { kind: "none" }],
  ])("%s", (_name, desired, containers, mem, expected) => {
    expect(planReplica({ desired, containers, memory: mem, now: NOW, probeIntervalMs: 5000 })).toEqual(expected);
  });
});

describe("restartDelayMs", () => {
  it("doubles from the base and is capped", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => restartDelayMs(n, 1000, 30_000))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});
