import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTAINER_LABELS, ZStatusReport, ZStatusResponse, type DesiredState, type StatusReport, type Workload } from "@/lib/protocol/agent";
import { runAgent } from "./agent";
import { createClient } from "./client";
import { connectDocker } from "./docker";
import { createReconciler, type Reconciler, type Timing } from "./reconcile";
import { createStatusReporter } from "./status-reporter";
import {
  TEST_IMAGE_REPO,
  TEST_LABEL,
  TEST_LABEL_VALUE,
  cleanUp,
  makeArtifact,
  startFakeControlPlane,
  workload,
  writeTestImageArchive,
  type Artifact,
} from "./test-support";

// The reconcile loop against the real Docker Engine (shared with other
// engineers' tests: everything here carries io.berth.test=agent-reconcile and
// a label of its own run, and only that is cleaned up) and a real HTTP server
// standing in for the control plane's agent endpoints.
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
const adapter = connectDocker();
const runId = randomUUID().slice(0, 8);
const scopeLabels = { [TEST_LABEL]: TEST_LABEL_VALUE, "io.berth.test-run": runId };
const image = `${TEST_IMAGE_REPO}:${runId}`;
const credential = "berth_agent_it_secret";
const work = mkdtempSync(path.join(os.tmpdir(), "berth-reconcile-it-"));
const stateDir = path.join(work, "state");
const cacheDir = path.join(work, "cache");
const fast: Partial<Timing> = {
  passIntervalMs: 100,
  probeIntervalMs: 300,
  unhealthyAfter: 2,
  readyTimeoutMs: 20_000,
  readyPollMs: 100,
  restartBaseMs: 200,
  restartMaxMs: 1000,
  crashLimit: 3,
  crashWindowMs: 60_000,
  stopSeconds: 1,
};
const figures: Record<string, number> = {};

let cp: Awaited<ReturnType<typeof startFakeControlPlane>>;
let client: ReturnType<typeof createClient>;
let artifact: Artifact;
const logs: string[] = [];

type Running = { reconciler: Reconciler; stop: () => Promise<void> };
/** Every agent or reconciler a test started: stopped before the clean-up, even when a test failed half-way. */
const stoppers = new Set<() => Promise<void>>();

function startReconciler(options: { url?: string; timing?: Partial<Timing>; scope?: string } = {}): Running {
  const own = options.url ? createClient({ url: options.url }) : client;
  const reconciler = createReconciler({
    docker: adapter,
    client: own,
    credential: () => credential,
    // A reconciler of its own (other timings) gets its own scope and state: two reconcilers on one scope remove each other's replicas.
    stateDir: options.scope ? path.join(work, `state-${options.scope}`) : stateDir,
    cacheDir,
    advertiseAddress: "127.0.0.1",
    bindAddress: "127.0.0.1",
    // Label filters match values, never their absence: each reconciler needs its own value of one key.
    scopeLabels: { ...scopeLabels, "io.berth.test-case": options.scope ?? "main" },
    log: (event, fields) => logs.push(`${event} ${JSON.stringify(fields ?? {})}`),
    timing: { ...fast, ...options.timing },
  });
  const controller = new AbortController();
  const done = reconciler.run(controller.signal);
  const stop = async () => {
    stoppers.delete(stop);
    controller.abort();
    await done;
    if (own !== client) await own.close();
  };
  stoppers.add(stop);
  return { reconciler, stop };
}

async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${logs.slice(-15).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const replica = (r: Reconciler, id: string) => r.snapshot().replicas.find((x) => x.replicaId === id);
const containersOf = async (replicaId: string) =>
  docker.listContainers({ all: true, filters: { label: [`io.berth.test-run=${runId}`, `${CONTAINER_LABELS.replica}=${replicaId}`] } });
const desiredState = (generation: number, workloads: Workload[], drainSeconds = 0): DesiredState => ({ generation, workloads, drainSeconds });
const post = (endpoint: string, p: string) => request(`${endpoint}${p}`, { method: "POST" }).then((r) => r.body.dump());

beforeAll(async () => {
  const archive = path.join(work, "runtime.tar");
  figures.imageArchiveWriteMs = writeTestImageArchive(image, archive);
  figures.imageArchiveBytes = statSync(archive).size;
  // The agent loads it from the control plane's archive: the built-in path.
  cp = await startFakeControlPlane({ credential, imageArchives: { "fake-runtime": archive } });
  client = createClient({ url: cp.url });
  artifact = makeArtifact(work, 1_500_000, "model");
  cp.add(artifact);
}, 60_000);

afterAll(async () => {
  for (const stop of [...stoppers]) await stop();
  await cleanUp(docker, { "io.berth.test-run": runId }, [image]);
  await client?.close();
  await cp?.close();
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`[agent-reconcile figures] ${JSON.stringify(figures)}\n`);
}, 60_000);

describe("the reconcile loop against a real Docker Engine", () => {
  let w1: Workload;
  let agent: Running;
  let containerId = "";

  it("creates a ready container: built-in image loaded, labels, read-only model mount, port, limits, env, args", async () => {
    w1 = workload({ artifact, image, deploymentName: "iris; $(touch /tmp/berth-pwned)", cpus: 0.5, memoryBytes: 256 * 1024 ** 2, env: { USER_ENV: "$(touch /tmp/berth-pwned)" }, args: ["--flag", "x y"] });
    agent = startReconciler();
    const started = Date.now();
    await agent.reconciler.setDesired(desiredState(1, [w1]));
    const ready = await waitFor("ready", () => replica(agent.reconciler, w1.replicaId)?.phase === "ready" && replica(agent.reconciler, w1.replicaId));
    figures.firstCreateToReadyMs = Date.now() - started; // download + image load + create + start + readiness
    expect(cp.requests.some((r) => r.path === "/api/v1/agent/runtime-images/fake-runtime")).toBe(true);
    containerId = ready.containerId ?? "";
    expect(ready.endpoint).toBe(`http://127.0.0.1:${ready.hostPort}`);
    expect(agent.reconciler.observedGeneration()).toBe(1);

    const info = await docker.getContainer(containerId).inspect();
    expect(info.Name).toBe(`/berth-iris-touch-tmp-berth-pwned-0-${w1.replicaId.slice(0, 8)}`);
    expect(info.Config.Labels).toMatchObject({
      [CONTAINER_LABELS.managed]: "true",
      [CONTAINER_LABELS.deployment]: w1.deploymentId,
      [CONTAINER_LABELS.deploymentName]: w1.deploymentName,
      [CONTAINER_LABELS.replica]: w1.replicaId,
      [CONTAINER_LABELS.slot]: "0",
      [CONTAINER_LABELS.specHash]: "spec-1",
      [CONTAINER_LABELS.sha256]: artifact.sha256,
      [TEST_LABEL]: TEST_LABEL_VALUE,
    });
    expect(info.Mounts).toEqual([expect.objectContaining({ Destination: "/models/model.onnx", RW: false, Source: path.join(cacheDir, "artifacts", artifact.sha256) })]);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(256 * 1024 ** 2);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("no");
    expect(info.HostConfig.PortBindings).toEqual({ "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });

    const seen = (await (await request(`${ready.endpoint}/info`)).body.json()) as { model: { sha256: string; writable: boolean }; argv: string[]; env: Record<string, string> };
    expect(seen.model).toMatchObject({ sha256: artifact.sha256, writable: false });
    expect(seen.argv).toEqual(["--flag", "x y"]);
    expect(seen.env).toMatchObject({ BERTH_MODEL_PATH: "/models/model.onnx", BERTH_MODEL_NAME: "iris", PORT: "8080", RUNTIME_ENV: "from-runtime", USER_ENV: "$(touch /tmp/berth-pwned)" });
    expect(existsSync("/tmp/berth-pwned")).toBe(false); // names and env reach the Engine as data, never through a shell
    expect(ZStatusReport.safeParse(agent.reconciler.snapshot()).success).toBe(true);
  });

  it("is idempotent: more passes change nothing", async () => {
    const before = await containersOf(w1.replicaId);
    const startedAt = (await docker.getContainer(containerId).inspect()).State.StartedAt;
    let started = performance.now();
    await agent.reconciler.pass();
    figures.steadyPassMs = Math.round((performance.now() - started) * 10) / 10;
    await agent.reconciler.pass();
    await agent.reconciler.idle();
    started = performance.now();
    await agent.reconciler.pass();
    figures.steadyPassMs2 = Math.round((performance.now() - started) * 10) / 10;
    const after = await containersOf(w1.replicaId);
    expect(after.map((c) => c.Id)).toEqual(before.map((c) => c.Id));
    expect(after).toHaveLength(1);
    expect((await docker.getContainer(containerId).inspect()).State.StartedAt).toBe(startedAt);
    expect(replica(agent.reconciler, w1.replicaId)?.phase).toBe("ready");
  });

  it("a restarted agent with the control plane away adopts its container from the persisted desired state, no duplicate", async () => {
    await agent.stop();
    expect(statSync(path.join(stateDir, "desired-state.json")).mode & 0o777).toBe(0o600);
    agent = startReconciler({ url: "http://127.0.0.1:1" }); // nothing listens there
    const started = Date.now();
    const adopted = await waitFor("adopted", () => replica(agent.reconciler, w1.replicaId)?.phase === "ready" && replica(agent.reconciler, w1.replicaId));
    figures.adoptToReadyMs = Date.now() - started;
    expect(adopted.containerId).toBe(containerId);
    expect(await containersOf(w1.replicaId)).toHaveLength(1);
    await agent.stop();
    agent = startReconciler();
  });

  it("turns unhealthy when the readiness probe fails, and ready again when it answers", async () => {
    const { endpoint } = await waitFor("ready", () => replica(agent.reconciler, w1.replicaId)?.phase === "ready" && replica(agent.reconciler, w1.replicaId));
    await post(endpoint ?? "", "/admin/sick");
    const sick = await waitFor("unhealthy", () => replica(agent.reconciler, w1.replicaId)?.phase === "unhealthy" && replica(agent.reconciler, w1.replicaId));
    expect(sick.message).toContain("HTTP 503");
    await post(endpoint ?? "", "/admin/well");
    await waitFor("ready again", () => replica(agent.reconciler, w1.replicaId)?.phase === "ready");
  });

  it("restarts a crashed container with back-off and counts it", async () => {
    const endpoint = replica(agent.reconciler, w1.replicaId)?.endpoint ?? "";
    const crashed = Date.now();
    await post(endpoint, "/admin/crash");
    const back = await waitFor("restarted", () => {
      const r = replica(agent.reconciler, w1.replicaId);
      return r?.phase === "ready" && r.restartCount === 1 && r;
    });
    figures.crashToReadyAgainMs = Date.now() - crashed; // detection (pass 100 ms) + 200 ms back-off + start + readiness
    expect(back.containerId).toBe(containerId);
    expect(await containersOf(w1.replicaId)).toHaveLength(1);
  });

  it("replaces the container when the spec changes", async () => {
    const w2 = { ...w1, specHash: "spec-2", generation: 2, env: { USER_ENV: "second" } };
    const replaceStarted = Date.now();
    await agent.reconciler.setDesired(desiredState(2, [w2]));
    const replaced = await waitFor("replaced", () => {
      const r = replica(agent.reconciler, w1.replicaId);
      return r?.phase === "ready" && r.containerId !== containerId && r;
    });
    figures.replaceToReadyMs = Date.now() - replaceStarted; // stop (SIGTERM) + remove + create + start + readiness
    const containers = await containersOf(w1.replicaId);
    expect(containers.map((c) => c.Id)).toEqual([replaced.containerId]);
    expect(containers[0]?.Labels[CONTAINER_LABELS.specHash]).toBe("spec-2");
    expect(agent.reconciler.observedGeneration()).toBe(2);
    containerId = replaced.containerId ?? "";
  });

  it("removes a replica no longer desired after the drain, reporting it as stopping meanwhile", async () => {
    const started = Date.now();
    await agent.reconciler.setDesired(desiredState(3, [], 1));
    await waitFor("stopping", () => replica(agent.reconciler, w1.replicaId)?.phase === "stopping");
    expect((await docker.getContainer(containerId).inspect()).State.Running).toBe(true); // still serving in-flight requests
    expect(agent.reconciler.observedGeneration()).toBe(2);
    await waitFor("gone", async () => !replica(agent.reconciler, w1.replicaId) && (await containersOf(w1.replicaId)).length === 0);
    figures.drainAndRemoveMs = Date.now() - started; // 1 s drain included
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(agent.reconciler.observedGeneration()).toBe(3);
  });

  it("marks a crash-looping replica failed with its last log lines, and leaves it alone", async () => {
    const w = workload({ artifact, image, deploymentName: "crashy", env: { FAKE_CRASH_AFTER_MS: "200" } });
    await agent.reconciler.setDesired(desiredState(4, [w]));
    const failed = await waitFor("failed", () => replica(agent.reconciler, w.replicaId)?.phase === "failed" && replica(agent.reconciler, w.replicaId), 30_000);
    expect(failed.restartCount).toBe(2);
    expect(failed.message).toContain("crashed 3 times");
    expect(failed.message).toContain("fatal: told to crash");
    expect(failed.message).toContain("about to crash as told");
    const containers = await containersOf(w.replicaId);
    expect(containers).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await docker.getContainer(containers[0]!.Id).inspect()).State.Running).toBe(false);
    expect(replica(agent.reconciler, w.replicaId)?.restartCount).toBe(2);
    expect(agent.reconciler.observedGeneration()).toBe(4);
    // The crash history is kept on disk: a restarted agent does not start the failed replica again.
    await agent.stop();
    agent = startReconciler();
    await waitFor("restored", () => replica(agent.reconciler, w.replicaId));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(replica(agent.reconciler, w.replicaId)).toMatchObject({ phase: "failed", restartCount: 2, containerId: containers[0]!.Id });
    expect(replica(agent.reconciler, w.replicaId)?.message).toContain("fatal: told to crash");
    expect((await docker.getContainer(containers[0]!.Id).inspect()).State.Running).toBe(false);
  });

  it("stops a container that never answers its readiness path in time, and counts that as a crash", async () => {
    const own = startReconciler({ scope: "ready-timeout", timing: { readyTimeoutMs: 1500, crashLimit: 2 } });
    const w = workload({ artifact, image, deploymentName: "never-ready", env: { FAKE_NEVER_READY: "1" } });
    await own.reconciler.setDesired(desiredState(1, [w]));
    const failed = await waitFor("failed", () => replica(own.reconciler, w.replicaId)?.phase === "failed" && replica(own.reconciler, w.replicaId), 20_000);
    expect(failed.message).toMatch(/^did not answer \/v2\/health\/ready within 2 s; stopped; exited with code 0; crashed 2 times/);
    expect(failed.restartCount).toBe(1);
    await own.stop();
  });

  it("a stalled download holds up neither another replica's start nor a removal", async () => {
    const slow = makeArtifact(work, 200_000, "slow");
    cp.add(slow);
    cp.control.stalled.add(slow.sha256);
    const wSlow = workload({ artifact: slow, image, deploymentName: "slow" });
    const wFast = workload({ artifact, image, deploymentName: "fast" });
    const started = Date.now();
    await agent.reconciler.setDesired(desiredState(5, [wSlow, wFast]));
    await waitFor("fast ready", () => replica(agent.reconciler, wFast.replicaId)?.phase === "ready");
    figures.createToReadyCachedMs = Date.now() - started; // artifact cached and image present: create + start + readiness
    // A cached artifact is no download: pending → starting → ready, with no "downloading" report in between.
    expect(logs.filter((line) => line.startsWith("replica downloading") && line.includes(wFast.replicaId))).toEqual([]);
    expect(replica(agent.reconciler, wSlow.replicaId)?.phase).toBe("downloading");
    await agent.reconciler.setDesired(desiredState(6, [wSlow], 0));
    await waitFor("fast removed", async () => (await containersOf(wFast.replicaId)).length === 0);
    expect(replica(agent.reconciler, wSlow.replicaId)?.phase).toBe("downloading");
    cp.control.stalled.delete(slow.sha256);
    cp.release();
    await waitFor("slow ready", () => replica(agent.reconciler, wSlow.replicaId)?.phase === "ready");
  });

  it("reports status to the control plane: valid ZStatusReport, log tails only when they changed", async () => {
    const controller = new AbortController();
    const reporter = createStatusReporter({
      snapshot: agent.reconciler.snapshot,
      logTail: (id) => adapter.logTail(id, 50),
      send: async (report) => {
        await client.call({ method: "POST", path: "/api/v1/agent/status", credential, body: report, schema: ZStatusResponse });
      },
      periodMs: () => 60_000,
      signal: controller.signal,
      minGapMs: 0,
    });
    const before = cp.reports.length;
    expect(await reporter.check()).toBe(true);
    const first = cp.reports.at(-1)!;
    expect(cp.reports.length).toBe(before + 1); // the fake control plane validated it with ZStatusReport
    const ready = first.replicas.find((r) => r.phase === "ready")!;
    expect(ready.logTail?.some((line) => line.includes("fake runtime starting"))).toBe(true);
    expect(await reporter.check()).toBe(false); // nothing changed: nothing sent
    cp.control.statusFails = true;
    await post(ready.endpoint ?? "", "/admin/sick"); // a new log line
    expect(await reporter.check(Date.now() + 10_000)).toBe(false); // refused: retried later with back-off
    cp.control.statusFails = false;
    await post(ready.endpoint ?? "", "/admin/well");
    // Docker's log copy lags the process a little: look again until the line is there.
    let later = 120_000;
    const second: StatusReport = await waitFor("a report with the new lines", async () => {
      await reporter.check(Date.now() + (later += 10_000));
      const last = cp.reports.at(-1)!;
      return last.replicas.find((r) => r.replicaId === ready.replicaId)?.logTail?.at(-1) === "well again" && last;
    });
    expect(second.replicas.find((r) => r.replicaId === ready.replicaId)?.logTail?.at(-1)).toBe("well again");
    expect(second.replicas.filter((r) => r.replicaId !== ready.replicaId).every((r) => r.logTail === null)).toBe(true);
    controller.abort();
    await agent.stop();
  });

  it("runAgent end to end: desired state to a ready container, heartbeat and status; control plane away, agent restarted, control plane back", async () => {
    const agentState = path.join(work, "agent-state");
    const w = workload({ artifact, image, deploymentName: "e2e", generation: 10 });
    cp.setDesired(desiredState(10, [w]));
    const agentLogs: string[] = [];
    const start = () => {
      const controller = new AbortController();
      const done = runAgent({
        url: cp.url,
        token: "berth_enrol_test",
        stateDir: agentState,
        advertiseAddress: "127.0.0.1",
        bindAddress: "127.0.0.1",
        scopeLabels,
        timing: fast,
        signal: controller.signal,
        log: (event, fields) => agentLogs.push(`${event} ${JSON.stringify(fields ?? {})}`),
      });
      const stop = async () => {
        stoppers.delete(stop);
        controller.abort();
        await done;
      };
      stoppers.add(stop);
      return { stop };
    };
    const othersBefore = (await docker.listContainers({ all: true, filters: { label: [`io.berth.test-run=${runId}`] } })).map((c) => c.Id);
    expect(othersBefore.length).toBeGreaterThan(0);
    let running = start();
    // Ready and generation 10 applied. The earlier tests' container (no server label) belongs to no enrolment of this agent: left alone, noted once.
    await waitFor("reported ready and applied", () => cp.reports.find((r) => r.observedGeneration === 10 && r.replicas.some((x) => x.replicaId === w.replicaId && x.phase === "ready")));
    await waitFor("heartbeat with observedGeneration 10", () => cp.heartbeats.includes(10));
    const [container] = await containersOf(w.replicaId);
    expect(container?.Labels["io.berth.server"]).toBe("srv-1");
    expect(agentLogs.filter((l) => l.startsWith("note: Berth containers of another server enrolment"))).toHaveLength(1);
    const runContainers = async () => (await docker.listContainers({ all: true, filters: { label: [`io.berth.test-run=${runId}`] } })).map((c) => c.Id);
    expect(await runContainers()).toEqual(expect.arrayContaining(othersBefore)); // the other enrolment's containers untouched
    expect(agentLogs.join("\n")).not.toContain(credential); // secrets never logged

    // The control plane goes away; the agent is restarted meanwhile: the container keeps serving and is adopted.
    cp.control.down = true;
    await running.stop();
    running = start();
    await waitFor("adopted while away", () => agentLogs.some((l) => l.startsWith("desired state restored from disk")) && agentLogs.filter((l) => l.startsWith("replica ready")).length >= 2);
    expect((await containersOf(w.replicaId)).map((c) => c.Id)).toEqual([container?.Id]);
    expect(agentLogs.filter((l) => l.startsWith("control plane unavailable")).length).toBeLessThanOrEqual(2); // one line per condition, not per retry

    // It returns with a new desired state: reconverge.
    cp.control.down = false;
    cp.setDesired(desiredState(11, []));
    await waitFor("removed", async () => (await containersOf(w.replicaId)).length === 0);
    await waitFor("reported gone", () => cp.reports.at(-1)?.replicas.length === 0 && cp.reports.at(-1)?.observedGeneration === 11);
    await waitFor("heartbeat with observedGeneration 11", () => cp.heartbeats.includes(11));
    await running.stop();
  }, 40_000);
});
