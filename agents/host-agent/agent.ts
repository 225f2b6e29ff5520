import path from "node:path";
import { BERTH_VERSION } from "@/lib/version";
import { ZCredentialResponse, ZDesiredState, ZEnrolResponse, ZHeartbeatResponse, ZStatusResponse } from "@/lib/protocol/agent";
import { pickAdvertiseAddress } from "./address";
import { retryDelayMs, sleep } from "./backoff";
import { ControlPlaneError, createClient } from "./client";
import { connectDocker, SERVER_LABEL } from "./docker";
import { collectInventory } from "./inventory";
import { createReconciler, type Timing } from "./reconcile";
import { loadState, saveState, type AgentState } from "./state";
import { createStatusReporter } from "./status-reporter";

/** Released with the control plane: the agent image's tag and the version the agent reports are Berth's. */
export const AGENT_VERSION = BERTH_VERSION;

export type AgentOptions = {
  url: string;
  token?: string;
  stateDir: string;
  cacheDir?: string;
  caFile?: string;
  /** Where the gateway reaches this host's containers (default: BERTH_AGENT_ADVERTISE_ADDRESS, else the first non-internal IPv4). */
  advertiseAddress?: string;
  /** The host address container ports are published on (default 0.0.0.0). */
  bindAddress?: string;
  cacheMaxBytes?: number;
  /** Extra labels on and filter for every container (tests sharing one Docker Engine). */
  scopeLabels?: Record<string, string>;
  timing?: Partial<Timing>;
  signal: AbortSignal;
  log: (event: string, fields?: Record<string, unknown>) => void;
};

/**
 * The host agent: enrol once, then heartbeat, long-poll for desired state
 * (handed to the reconciler, reconcile.ts) and report status, until told to
 * stop. Stopping the agent leaves the containers running. It never exits on its own: every failure is retried
 * with capped, jittered back-off, and only changes of condition are logged
 * (one line when the control plane goes away, one when it is back), never
 * each retry.
 */
export async function runAgent(options: AgentOptions): Promise<void> {
  const { signal, log } = options;
  const client = createClient({ url: options.url, caFile: options.caFile });
  const docker = connectDocker();
  const cacheDir = options.cacheDir ?? path.join(options.stateDir, "cache");
  let condition = "starting";
  const report = (next: string, fields: Record<string, unknown> = {}) => {
    if (next === condition) return;
    condition = next;
    log(next, fields);
  };
  const inventory = () => collectInventory({ cacheDir, docker, agentVersion: AGENT_VERSION });

  /** Runs `attempt` until it succeeds or the agent stops; undefined means stopped. */
  async function withRetry<T>(what: string, attempt: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 1; !signal.aborted; failures++) {
      try {
        return await attempt();
      } catch (error) {
        if (signal.aborted) return undefined;
        const failure = error instanceof ControlPlaneError ? error : new ControlPlaneError("unreachable", (error as Error).message);
        report(failure.kind === "refused" ? "refused" : "control plane unavailable", { during: what, kind: failure.kind, reason: failure.message });
        if (!(await sleep(retryDelayMs(failures), signal))) return undefined;
      }
    }
    return undefined;
  }

  const { mkdir } = await import("node:fs/promises");
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(cacheDir, { recursive: true });
  let state: AgentState | null = await loadState(options.stateDir);
  if (state && state.controlPlane !== options.url) log("note: this host enrolled with another control-plane URL", { enrolledWith: state.controlPlane, now: options.url });
  if (!state) {
    if (!options.token) throw new Error("this host has not enrolled yet: pass --token (or set BERTH_ENROLMENT_TOKEN) with the enrolment token from Berth's Servers page");
    report("enrolling");
    const token = options.token;
    const enrolled = await withRetry("enrolment", async () =>
      client.call({ method: "POST", path: "/api/v1/agent/enrol", body: { token, inventory: await inventory() }, schema: ZEnrolResponse, signal }),
    );
    if (!enrolled) return client.close();
    state = { serverId: enrolled.serverId, serverName: enrolled.serverName, credential: enrolled.credential, controlPlane: options.url };
    await saveState(options.stateDir, state);
    log("enrolled", { server: enrolled.serverName });
  }
  const current = state;
  let heartbeatSeconds = 10;
  let generation: number | null = null;
  const advertiseAddress = pickAdvertiseAddress(options.advertiseAddress);
  const scopeLabels = { [SERVER_LABEL]: current.serverId, ...options.scopeLabels };
  const foreign = await docker
    .listManaged()
    .then((all) => all.filter((c) => c.labels[SERVER_LABEL] !== current.serverId))
    .catch(() => []);
  if (foreign.length > 0) log("note: Berth containers of another server enrolment run on this Docker Engine; left alone", { count: foreign.length, names: foreign.slice(0, 5).map((c) => c.name) });
  // The reporter is made after the reconciler it reads from; phase changes before then wait for its first look.
  let nudgeReporter = () => {};
  const reconciler = createReconciler({
    docker,
    client,
    credential: () => current.credential,
    stateDir: options.stateDir,
    cacheDir,
    cacheMaxBytes: options.cacheMaxBytes,
    advertiseAddress,
    bindAddress: options.bindAddress ?? "0.0.0.0",
    scopeLabels,
    log,
    timing: options.timing,
    onPhaseChange: () => nudgeReporter(),
  });
  log("serving containers", { advertiseAddress, bindAddress: options.bindAddress ?? "0.0.0.0" });
  const reporter = createStatusReporter({
    snapshot: reconciler.snapshot,
    logTail: (containerId) => docker.logTail(containerId, 50),
    send: async (report) => {
      await client.call({ method: "POST", path: "/api/v1/agent/status", credential: current.credential, body: report, schema: ZStatusResponse, signal });
    },
    periodMs: () => heartbeatSeconds * 1000,
    signal,
    // One line when reports start failing and one when they go through again, never one per retry.
    onCondition: (condition, reason) => log(condition === "failing" ? "status reports failing" : "status reports delivered again", reason ? { reason } : {}),
  });
  nudgeReporter = reporter.nudge;

  async function rotate() {
    const { credential } = await client.call({ method: "POST", path: "/api/v1/agent/credential", credential: current.credential, schema: ZCredentialResponse, signal });
    current.credential = credential;
    await saveState(options.stateDir, current);
    log("credential rotated");
  }

  async function heartbeatLoop() {
    while (!signal.aborted) {
      const answer = await withRetry("heartbeat", async () =>
        client.call({
          method: "POST",
          path: "/api/v1/agent/heartbeat",
          credential: current.credential,
          body: { inventory: await inventory(), observedGeneration: reconciler.observedGeneration() },
          schema: ZHeartbeatResponse,
          signal,
        }),
      );
      if (!answer) return;
      report(answer.adminState === "active" ? "connected" : `connected (${answer.adminState})`, { server: answer.serverName, adminState: answer.adminState });
      heartbeatSeconds = answer.heartbeatIntervalSeconds;
      if (answer.rotateCredential) await withRetry("credential rotation", rotate);
      if (!(await sleep(heartbeatSeconds * 1000, signal))) return;
    }
  }

  async function desiredStateLoop() {
    while (!signal.aborted) {
      const query = generation === null ? "" : `?after=${generation}&waitSeconds=25`;
      const desired = await withRetry("desired state", () =>
        client.call({ method: "GET", path: `/api/v1/agent/desired-state${query}`, credential: current.credential, schema: ZDesiredState, signal }),
      );
      if (!desired) return;
      if (desired.generation !== generation) {
        generation = desired.generation;
        log("desired state", { generation, workloads: desired.workloads.length });
        // The reconciler keeps it on disk and applies it in its own loop: this never waits for containers.
        await reconciler.setDesired(desired).catch((error: unknown) => log("could not keep the desired state on disk", { reason: (error as Error).message }));
      }
    }
  }

  await Promise.all([heartbeatLoop(), desiredStateLoop(), reconciler.run(signal), reporter.run()]);
  await client.close();
}
