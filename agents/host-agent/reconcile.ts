import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import { CONTAINER_LABELS, ZDesiredState, type DesiredState, type ReplicaPhase, type ReplicaStatus, type RuntimeSpec, type Workload } from "@/lib/protocol/agent";
import { endpointUrl, probeHost } from "./address";
import { ArtifactError, createArtifactCache } from "./artifact-cache";
import { retryDelayMs, sleep } from "./backoff";
import type { AgentClient } from "./client";
import { buildContainerSpec } from "./container-spec";
import { dockerStatusCode, type DockerAdapter } from "./docker";
import { planReplica, restartDelayMs, type ObservedContainer, type ReplicaMemory, type Step } from "./plan";
import { loadJson, saveJson } from "./state";

/**
 * The reconcile loop: turns the desired state into running, ready containers
 * and keeps them so. Each pass lists the managed containers (one Engine call),
 * plans one step per replica (plan.ts, pure) and starts it as that replica's
 * own task; a pass never waits for a task, so a long download or readiness
 * wait of one replica holds up neither the others nor status reporting.
 * A replica runs at most one task at a time; a task whose purpose is gone
 * (its replica no longer desired, or its spec changed) is aborted.
 */
export type Timing = {
  passIntervalMs: number;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Consecutive failed probes that make a ready replica unhealthy. */
  unhealthyAfter: number;
  readyTimeoutMs: number;
  /** The first pause between readiness probes of a starting replica; it grows to a twentieth of the time waited so far (at most READY_POLL_MAX_MS). */
  readyPollMs: number;
  restartBaseMs: number;
  restartMaxMs: number;
  /** Crashes within crashWindowMs that make a replica failed. */
  crashLimit: number;
  crashWindowMs: number;
  /** Seconds between SIGTERM and SIGKILL when stopping a container. */
  stopSeconds: number;
};

export const DEFAULT_TIMING: Timing = {
  passIntervalMs: 2000,
  probeIntervalMs: 5000,
  probeTimeoutMs: 2000,
  unhealthyAfter: 3,
  readyTimeoutMs: 120_000,
  // A starting server answers within a second or two; polling finely costs a few local requests and saves time on every start.
  // 20 ms is what bench/deploy's limit polls at; a slow start (minutes) is polled ever more coarsely.
  readyPollMs: 20,
  restartBaseMs: 1000,
  restartMaxMs: 60_000,
  crashLimit: 5,
  crashWindowMs: 10 * 60_000,
  stopSeconds: 10,
};

export type ReconcilerOptions = {
  docker: DockerAdapter;
  client: Pick<AgentClient, "stream">;
  credential: () => string;
  stateDir: string;
  cacheDir: string;
  cacheMaxBytes?: number;
  advertiseAddress: string;
  bindAddress: string;
  /** Extra labels written on every container and required when listing (tests on a shared engine). */
  scopeLabels?: Record<string, string>;
  log: (event: string, fields?: Record<string, unknown>) => void;
  /** Called on every replica phase change (the status reporter reports at once). */
  onPhaseChange?: () => void;
  timing?: Partial<Timing>;
};

type Task = { kind: Step["kind"]; specHash: string | null; controller: AbortController; promise: Promise<void> };

type Replica = {
  id: string;
  deploymentId: string;
  workload: Workload | null;
  /** The spec the replica's crash history belongs to. */
  specHash: string | null;
  memory: ReplicaMemory;
  hostPort: number | null;
  message: string | null;
  progress: { doneBytes: number; totalBytes: number } | null;
  observedGeneration: number | null;
  appliedSpecHash: string | null;
  restartCount: number;
  crashes: number[];
  probeFailures: number;
  failures: number;
  retryAt: number;
  task: Task | null;
  /** The pass sequence number at which its last task ended: a listing older than that is stale for it. */
  settledAt: number;
};

/** What survives an agent restart besides the containers' labels. */
type CrashRecord = { restartCount: number; crashes: number[]; failedSpecHash: string | null; message: string | null; specHash: string | null };

const DESIRED_FILE = "desired-state.json";
const REPLICAS_FILE = "replicas.json";
const INTEGRITY_RETRY_MS = 10 * 60_000;
const READY_POLL_MAX_MS = 1000;

export type Reconciler = ReturnType<typeof createReconciler>;

export function createReconciler(options: ReconcilerOptions) {
  const timing: Timing = { ...DEFAULT_TIMING, ...options.timing };
  const { docker, log } = options;
  const replicas = new Map<string, Replica>();
  const images = new Map<string, Promise<unknown>>();
  let desired: DesiredState | null = null;
  let lastApplied: number | null = null;
  let wakeUp: (() => void) | null = null;
  let dockerCondition = "unknown";
  let persistChain: Promise<void> = Promise.resolve();
  /** Counts task ends; a pass acts only on replicas whose last task ended before it listed the containers. */
  let sequence = 0;
  const probes = new Agent({ connect: { timeout: timing.probeTimeoutMs }, keepAliveTimeout: 1000, headersTimeout: timing.probeTimeoutMs, bodyTimeout: timing.probeTimeoutMs });
  let stopping = false;

  const cache = createArtifactCache({
    cacheDir: options.cacheDir,
    maxBytes: options.cacheMaxBytes,
    client: options.client,
    credential: options.credential,
    inUse: () => (desired?.workloads ?? []).map((w) => w.artifact.sha256),
    log,
  });

  function wake() {
    wakeUp?.();
  }

  /* ---------- persistence ---------- */

  async function load() {
    const saved = await loadJson(options.stateDir, DESIRED_FILE, (value) => {
      const parsed = ZDesiredState.safeParse(value);
      return parsed.success ? parsed.data : null;
    });
    if (saved && !desired) {
      desired = saved;
      log("desired state restored from disk", { generation: saved.generation, workloads: saved.workloads.length });
    }
    const records = await loadJson(options.stateDir, REPLICAS_FILE, (value) => (value && typeof value === "object" ? (value as Record<string, CrashRecord>) : null));
    for (const [id, record] of Object.entries(records ?? {})) {
      const replica = ensureReplica(id, "");
      replica.restartCount = record.restartCount ?? 0;
      replica.crashes = Array.isArray(record.crashes) ? record.crashes.filter((t) => typeof t === "number") : [];
      replica.memory.failedSpecHash = record.failedSpecHash ?? null;
      replica.specHash = record.specHash ?? null;
      if (record.failedSpecHash) {
        replica.memory.phase = "failed";
        replica.message = record.message;
      }
    }
  }

  function persistReplicas() {
    const records: Record<string, CrashRecord> = {};
    for (const r of replicas.values()) {
      if (r.restartCount === 0 && r.crashes.length === 0 && !r.memory.failedSpecHash) continue;
      records[r.id] = { restartCount: r.restartCount, crashes: r.crashes, failedSpecHash: r.memory.failedSpecHash, message: r.memory.failedSpecHash ? r.message : null, specHash: r.specHash };
    }
    persistChain = persistChain.then(() => saveJson(options.stateDir, REPLICAS_FILE, records)).catch((error: unknown) => log("could not save replica history", { reason: (error as Error).message }));
  }

  /**
   * Takes a new desired state and keeps it on disk, so a restart while the
   * control plane is away keeps serving it. Applied even when the disk write
   * fails (the caller hears of that failure).
   */
  async function setDesired(next: DesiredState): Promise<void> {
    desired = next;
    wake();
    cache.evict().catch(() => {});
    await saveJson(options.stateDir, DESIRED_FILE, next);
  }

  /* ---------- replicas and their status ---------- */

  function ensureReplica(id: string, deploymentId: string): Replica {
    let r = replicas.get(id);
    if (!r) {
      r = {
        id,
        deploymentId,
        workload: null,
        specHash: null,
        memory: { phase: "pending", containerId: null, failedSpecHash: null, crashedContainerId: null, restartDueAt: null, lastProbeAt: 0 },
        hostPort: null,
        message: null,
        progress: null,
        observedGeneration: null,
        appliedSpecHash: null,
        restartCount: 0,
        crashes: [],
        probeFailures: 0,
        failures: 0,
        retryAt: 0,
        task: null,
        settledAt: 0,
      };
      replicas.set(id, r);
    }
    if (deploymentId) r.deploymentId = deploymentId;
    return r;
  }

  function setPhase(r: Replica, phase: ReplicaPhase, fields: Record<string, unknown> = {}) {
    if (r.memory.phase === phase) return;
    r.memory.phase = phase;
    if (phase !== "downloading") r.progress = null;
    log(`replica ${phase}`, { replica: r.id, deployment: r.workload?.deploymentName ?? r.deploymentId, ...fields });
    options.onPhaseChange?.();
  }

  function setMessage(r: Replica, message: string | null) {
    r.message = message === null ? null : message.slice(0, 4000);
  }

  function status(r: Replica): ReplicaStatus {
    const hostPort = r.memory.containerId ? r.hostPort : null;
    return {
      replicaId: r.id,
      deploymentId: r.deploymentId,
      phase: r.memory.phase,
      containerId: r.memory.containerId,
      endpoint: hostPort ? endpointUrl(options.advertiseAddress, hostPort) : null,
      hostPort,
      restartCount: r.restartCount,
      message: r.message,
      observedGeneration: r.observedGeneration,
      progress: r.memory.phase === "downloading" ? r.progress : null,
      logTail: null,
    };
  }

  /** The generation whose workloads are all applied (running or settled as failed) with nothing left to remove. */
  function observedGeneration(): number | null {
    if (!desired) return lastApplied;
    const wanted = new Set(desired.workloads.map((w) => w.replicaId));
    const applied = desired.workloads.every((w) => {
      const r = replicas.get(w.replicaId);
      if (!r || r.workload?.specHash !== w.specHash) return false;
      if (r.memory.phase === "failed") return true;
      return (r.memory.phase === "ready" || r.memory.phase === "unhealthy") && r.appliedSpecHash === w.specHash;
    });
    const leftovers = [...replicas.values()].some((r) => !wanted.has(r.id) && (r.memory.containerId !== null || r.task !== null || r.memory.phase === "stopping"));
    if (applied && !leftovers) lastApplied = desired.generation;
    return lastApplied;
  }

  function snapshot(): { observedGeneration: number | null; replicas: ReplicaStatus[] } {
    return {
      observedGeneration: observedGeneration(),
      // Ids longer than the protocol allows can only come from foreign labels; one of them must not get every report refused.
      replicas: [...replicas.values()].filter((r) => (r.workload || r.memory.containerId) && r.id.length <= 64 && r.deploymentId.length <= 64).map(status),
    };
  }

  /* ---------- the pass ---------- */

  async function pass(): Promise<void> {
    if (!desired) return; // never remove anything before knowing what is wanted
    const listedAt = sequence;
    let containers;
    try {
      containers = await docker.listManaged({ scopeLabels: options.scopeLabels });
      if (dockerCondition !== "available") log("docker engine available");
      dockerCondition = "available";
    } catch (error) {
      if (dockerCondition !== "unavailable") log("docker engine unavailable", { reason: (error as Error).message.slice(0, 200) });
      dockerCondition = "unavailable";
      return;
    }
    const observed = new Map<string, ObservedContainer[]>();
    for (const c of containers) {
      const id = c.labels[CONTAINER_LABELS.replica];
      if (!id) continue;
      const list = observed.get(id) ?? [];
      list.push({ id: c.id, specHash: c.labels[CONTAINER_LABELS.specHash] ?? "", state: c.state, createdAt: c.createdAt });
      observed.set(id, list);
      ensureReplica(id, c.labels[CONTAINER_LABELS.deployment] ?? "");
    }
    const wanted = new Map(desired.workloads.map((w) => [w.replicaId, w]));
    for (const w of wanted.values()) {
      const r = ensureReplica(w.replicaId, w.deploymentId);
      if (r.specHash !== w.specHash) {
        // A new spec starts a new crash history.
        if (r.specHash !== null) {
          r.crashes = [];
          r.retryAt = 0;
          r.failures = 0;
          if (r.memory.phase === "failed") setPhase(r, "pending");
          setMessage(r, null);
        }
        r.specHash = w.specHash;
        persistReplicas();
      }
      r.workload = w;
    }
    const now = Date.now();
    for (const r of [...replicas.values()]) {
      if (!wanted.has(r.id)) r.workload = null;
      const list = observed.get(r.id) ?? [];
      if (r.settledAt > listedAt && !r.task) continue; // its task ended while we listed: look again next pass
      if (r.task) {
        const purposeGone = r.task.kind !== "remove" && r.task.kind !== "replace" && r.task.specHash !== (r.workload?.specHash ?? null);
        if (purposeGone) r.task.controller.abort();
        continue;
      }
      // The container the status talks about is gone (removed by someone, or by us).
      if (r.memory.containerId && !list.some((c) => c.id === r.memory.containerId)) {
        r.memory.containerId = null;
        r.hostPort = null;
        r.appliedSpecHash = null;
        if (r.workload && r.memory.phase !== "failed") setPhase(r, "pending");
      }
      if (r.workload && r.memory.failedSpecHash === r.workload.specHash && !r.memory.containerId) {
        const kept = list.find((c) => c.specHash === r.workload?.specHash);
        if (kept) r.memory.containerId = kept.id;
      }
      if (r.workload && now < r.retryAt) continue;
      execute(r, planReplica({ desired: r.workload, containers: list, memory: r.memory, now, probeIntervalMs: timing.probeIntervalMs }));
    }
  }

  function execute(r: Replica, step: Step) {
    switch (step.kind) {
      case "none":
        return;
      case "forget":
        replicas.delete(r.id);
        persistReplicas();
        return;
      case "remove":
        return runTask(r, step, (signal) => remove(r, step.containerIds, signal));
      case "replace":
        return runTask(r, step, () => replace(r, step.containerIds));
      case "create":
        return runTask(r, step, (signal) => create(r, r.workload as Workload, signal));
      case "start":
        return runTask(r, step, async (signal) => {
          r.memory.containerId = step.containerId;
          noteApplied(r);
          setPhase(r, "starting");
          await docker.startContainer(step.containerId);
          await awaitReady(r, step.containerId, signal);
        });
      case "await-ready":
        return runTask(r, step, async (signal) => {
          r.memory.containerId = step.containerId;
          noteApplied(r);
          if (r.memory.phase !== "ready") setPhase(r, "starting");
          await awaitReady(r, step.containerId, signal);
        });
      case "probe":
        return runTask(r, step, (signal) => probeOnce(r, step.containerId, signal));
      case "crashed":
        return runTask(r, step, () => crashed(r, step.containerId));
      case "restart":
        return runTask(r, step, async (signal) => {
          await docker.startContainer(step.containerId);
          r.restartCount++;
          r.memory.crashedContainerId = null;
          r.memory.restartDueAt = null;
          persistReplicas();
          log("replica restarted", { replica: r.id, restartCount: r.restartCount });
          await awaitReady(r, step.containerId, signal);
        });
    }
  }

  function runTask(r: Replica, step: Step, work: (signal: AbortSignal) => Promise<void>) {
    const controller = new AbortController();
    if (stopping) controller.abort();
    const task: Task = { kind: step.kind, specHash: r.workload?.specHash ?? null, controller, promise: Promise.resolve() };
    r.task = task;
    task.promise = work(controller.signal)
      .then(
        () => {
          r.failures = 0;
          r.retryAt = 0;
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          failed(r, step, error);
        },
      )
      .finally(() => {
        if (r.task === task) r.task = null;
        r.settledAt = ++sequence;
        wake();
      });
  }

  function failed(r: Replica, step: Step, error: unknown) {
    r.failures++;
    const integrity = error instanceof ArtifactError && error.kind === "integrity";
    const delay = integrity ? INTEGRITY_RETRY_MS : retryDelayMs(r.failures);
    r.retryAt = Date.now() + delay;
    const reason = describe(error);
    const message = `${step.kind === "create" ? "could not start the replica" : `could not ${step.kind} the container`}: ${reason}; next attempt in ${Math.round(delay / 1000)} s`;
    const before = r.message?.replace(/; next attempt in \d+ s$/, "");
    setMessage(r, message);
    if (integrity && r.workload) setPhase(r, "failed", { reason });
    if (before !== message.replace(/; next attempt in \d+ s$/, "")) log("replica step failed", { replica: r.id, step: step.kind, reason });
  }

  function noteApplied(r: Replica) {
    if (!r.workload) return;
    r.appliedSpecHash = r.workload.specHash;
    r.observedGeneration = r.workload.generation;
  }

  /* ---------- the steps ---------- */

  async function create(r: Replica, w: Workload, signal: AbortSignal) {
    setMessage(r, null);
    // The image and the artifact are independent: checked (and fetched when missing) side by side.
    const image = ensureImage(w.runtime, signal);
    image.catch(() => {}); // awaited below; a failure of the artifact must not leave it unhandled
    // A cached artifact is not a download: the replica goes straight to starting (one status report fewer).
    const artifactPath = await cache.ensure(w.artifact, {
      signal,
      onProgress: (doneBytes, totalBytes) => {
        r.progress = { doneBytes, totalBytes };
        setPhase(r, "downloading");
      },
    });
    setPhase(r, "starting");
    await image;
    signal.throwIfAborted();
    const spec = buildContainerSpec({ workload: w, artifactPath, bindAddress: options.bindAddress, scopeLabels: options.scopeLabels });
    let id: string;
    try {
      id = await docker.createContainer(spec);
    } catch (error) {
      if (dockerStatusCode(error) === 409) throw new Error(`a container named ${spec.name} already exists and is not this replica's`);
      throw error;
    }
    r.memory.containerId = id;
    r.memory.crashedContainerId = null;
    noteApplied(r);
    await docker.startContainer(id);
    await awaitReady(r, id, signal);
  }

  function ensureImage(runtime: RuntimeSpec, signal: AbortSignal): Promise<unknown> {
    let pending = images.get(runtime.image);
    if (!pending) {
      const fetchArchive = async (): Promise<Readable> => {
        const response = await options.client.stream({ path: `/api/v1/agent/runtime-images/${encodeURIComponent(runtime.name)}`, credential: options.credential() });
        return response.body;
      };
      pending = docker
        .ensureImage({ runtime, fetchArchive })
        .then((how) => {
          if (how !== "present") log(`runtime image ${how}`, { image: runtime.image });
        })
        .finally(() => images.delete(runtime.image));
      images.set(runtime.image, pending);
    }
    return abortable(pending, signal);
  }

  async function probe(port: number, path: string, signal: AbortSignal): Promise<string | null> {
    try {
      const response = await request(`http://${probeHost(options.bindAddress)}:${port}${path.startsWith("/") ? path : `/${path}`}`, {
        dispatcher: probes,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timing.probeTimeoutMs)]),
      });
      await response.body.dump();
      return response.statusCode === 200 ? null : `HTTP ${response.statusCode}`;
    } catch (error) {
      if (signal.aborted) throw error;
      const code = (error as { code?: string }).code;
      return code ?? (error as Error).message.slice(0, 100);
    }
  }

  async function awaitReady(r: Replica, id: string, signal: AbortSignal) {
    const w = r.workload;
    if (!w) return;
    const started = Date.now();
    let details = await docker.inspectContainer(id);
    let lastInspect = Date.now();
    while (!signal.aborted) {
      if (!details?.running) return; // exited: the next pass counts the crash
      r.hostPort = details.hostPort;
      if (details.hostPort) {
        const failure = await probe(details.hostPort, w.runtime.readinessPath, signal);
        if (failure === null) {
          setMessage(r, null);
          r.probeFailures = 0;
          r.memory.lastProbeAt = Date.now();
          setPhase(r, "ready", { endpoint: endpointUrl(options.advertiseAddress, details.hostPort), afterMs: Date.now() - started });
          return;
        }
      }
      if (Date.now() - started > timing.readyTimeoutMs) {
        setMessage(r, `did not answer ${w.runtime.readinessPath} within ${Math.round(timing.readyTimeoutMs / 1000)} s; stopped`);
        await docker.stopContainer(id, timing.stopSeconds);
        return;
      }
      // Noticed within 5 % of the time the replica took to start: fine at first, coarse for a model that loads for minutes.
      const pause = Math.max(timing.readyPollMs, Math.min(READY_POLL_MAX_MS, (Date.now() - started) / 20));
      if (!(await sleep(pause, signal))) return;
      if (Date.now() - lastInspect >= 1000) {
        details = await docker.inspectContainer(id);
        lastInspect = Date.now();
      }
    }
  }

  async function probeOnce(r: Replica, id: string, signal: AbortSignal) {
    const w = r.workload;
    if (!w || !r.hostPort) return;
    const failure = await probe(r.hostPort, w.runtime.readinessPath, signal);
    r.memory.lastProbeAt = Date.now();
    if (failure === null) {
      r.probeFailures = 0;
      if (r.memory.phase === "unhealthy") {
        setMessage(r, null);
        setPhase(r, "ready");
      }
      return;
    }
    r.probeFailures++;
    if (r.probeFailures >= timing.unhealthyAfter && r.memory.phase === "ready") {
      const details = await docker.inspectContainer(id);
      if (!details?.running) return; // a crash, not a health problem: the next pass handles it
      setMessage(r, `readiness probe failed ${r.probeFailures} times in a row (${failure})`);
      setPhase(r, "unhealthy", { reason: failure });
    }
  }

  async function crashed(r: Replica, id: string) {
    const w = r.workload;
    if (!w) return;
    const details = await docker.inspectContainer(id);
    const lines = await docker.logTail(id, 20).catch(() => [] as string[]);
    const now = Date.now();
    r.crashes = [...r.crashes.filter((t) => now - t < timing.crashWindowMs), now];
    r.memory.crashedContainerId = id;
    r.memory.containerId = id;
    const cause = r.message?.startsWith("did not answer") ? `${r.message}; ` : "";
    const exit = `exited with code ${details?.exitCode ?? "?"}`;
    if (r.crashes.length >= timing.crashLimit) {
      r.memory.failedSpecHash = w.specHash;
      r.memory.restartDueAt = null;
      const minutes = Math.round(timing.crashWindowMs / 60_000);
      const head = `${cause}${exit}; crashed ${r.crashes.length} times within ${minutes} min, not restarted until its spec changes. Last log lines:\n`;
      // The newest lines matter most: drop the oldest ones to fit the 4000 characters of a message.
      let tail = lines.join("\n");
      if (head.length + tail.length > 4000) tail = tail.slice(head.length + tail.length - 4000);
      setMessage(r, head + tail);
      setPhase(r, "failed", { crashes: r.crashes.length });
    } else {
      const delay = restartDelayMs(r.crashes.length, timing.restartBaseMs, timing.restartMaxMs);
      r.memory.restartDueAt = now + delay;
      setMessage(r, `${cause}${exit}; restarting in ${delay < 1000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`}`);
      setPhase(r, "starting", { exitCode: details?.exitCode ?? null });
    }
    persistReplicas();
  }

  async function remove(r: Replica, ids: string[], signal: AbortSignal) {
    const drainSeconds = desired?.drainSeconds ?? 0;
    const serving = r.memory.phase !== "starting" && r.memory.phase !== "failed" && r.memory.phase !== "downloading";
    if (!r.memory.containerId || !ids.includes(r.memory.containerId)) r.memory.containerId = ids[0] ?? null; // listed while stopping
    setPhase(r, "stopping");
    if (serving && drainSeconds > 0) {
      setMessage(r, `draining for ${drainSeconds} s before stopping`);
      if (!(await sleep(drainSeconds * 1000, signal))) return;
    }
    setMessage(r, null);
    for (const id of ids) await docker.stopAndRemove(id, timing.stopSeconds);
  }

  async function replace(r: Replica, ids: string[]) {
    setPhase(r, "starting");
    setMessage(r, "replacing the container of an earlier spec");
    r.memory.containerId = null;
    r.memory.crashedContainerId = null;
    r.memory.restartDueAt = null;
    r.appliedSpecHash = null;
    for (const id of ids) await docker.stopAndRemove(id, timing.stopSeconds);
    setMessage(r, null);
  }

  /** Stops waiting (not the shared work) when the signal aborts. */
  function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(new Error("aborted"));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new Error("aborted"));
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  function describe(error: unknown): string {
    if (error instanceof Error) return error.message.slice(0, 500);
    return String(error).slice(0, 500);
  }

  /* ---------- the loop ---------- */

  /** Passes until the signal aborts; the containers keep running after it (stopping the agent never stops serving). */
  async function run(signal: AbortSignal): Promise<void> {
    await load().catch((error: unknown) => log("could not read the saved desired state", { reason: describe(error) }));
    while (!signal.aborted) {
      await pass().catch((error: unknown) => log("reconcile pass failed", { reason: describe(error) }));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timing.passIntervalMs);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          wakeUp = null;
          resolve();
        }
        wakeUp = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
    await stop();
  }

  /** Aborts running tasks and waits for them; containers are left as they are. */
  async function stop() {
    stopping = true;
    for (const r of replicas.values()) r.task?.controller.abort();
    await idle();
    await persistChain;
    await probes.close().catch(() => {});
  }

  /** Resolves when no replica task is running (tests, shutdown). */
  async function idle() {
    for (;;) {
      const running = [...replicas.values()].map((r) => r.task?.promise).filter(Boolean);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  return { run, load, pass, idle, stop, setDesired, snapshot, observedGeneration, cache, desired: () => desired };
}
