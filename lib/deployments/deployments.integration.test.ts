import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestDatabase, dump, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { receiveArtifact } from "@/lib/blobs/blob-store";
import { authenticateAgent, enrolAgent, recordHeartbeat, type AgentIdentity } from "@/lib/fleet/agent-channel";
import { addServer, removeServer, setServerAdminState } from "@/lib/fleet/servers";
import { createModel } from "@/lib/registry/models";
import { deleteVersion, registerVersion } from "@/lib/registry/versions";
import type { Inventory, ReplicaStatus, Workload } from "@/lib/protocol/agent";
import { createDeployment, deleteDeployment, deploymentAction, getDeployment, updateDeployment } from "./deployments";
import { workloadsForServer } from "./desired-state";
import { ingestStatusReport } from "./status";
import { listLedger } from "./ledger";
import { openArtifactForAgent } from "./agent-artifacts";
import { createRuntime, ensureBuiltinRuntimes, getRuntime } from "./runtimes";
import { createWebhook, deleteWebhook } from "@/lib/webhooks/webhooks";

connectTestDatabase();
const blobDir = mkdtempSync(path.join(os.tmpdir(), "berth-deploy-"));
const alice = { ...systemActor("alice@example.com"), label: "alice@example.com" };
const request = { requestId: "it", sourceAddress: "127.0.0.1", userAgent: null };
const samples = path.resolve(import.meta.dirname, "../../samples/iris");

const inventory = (gpus = 0): Inventory => ({
  hostname: "it-host",
  os: { platform: "linux", release: "6.1", kernel: "#1", arch: "x64" },
  cpu: { model: "cpu", cores: 8 },
  memory: { totalBytes: 16 * 1024 ** 3, freeBytes: 8 * 1024 ** 3 },
  disk: null,
  docker: { available: true, version: "20.10", apiVersion: "1.41", error: null },
  gpus: Array.from({ length: gpus }, (_, index) => ({ index, name: "A100", memoryTotalMiB: 81920, memoryUsedMiB: 0, driverVersion: "550", utilizationPercent: 0 })),
  agentVersion: "it",
  containers: [],
});

async function onlineServer(name: string, labels: Record<string, string> = {}, gpus = 0): Promise<AgentIdentity> {
  const { enrolmentToken } = await addServer({ actor: alice, request, input: { name, labels, enrolmentTtlMinutes: 60 } });
  const { credential } = await enrolAgent({ token: enrolmentToken, inventory: inventory(gpus), request });
  const auth = await authenticateAgent(`Bearer ${credential}`);
  if (!auth.ok) throw new Error("enrolled agent does not authenticate");
  return auth.agent;
}

async function upload(model: string, file: string) {
  const file_ = await receiveArtifact({ source: Readable.from([readFileSync(path.join(samples, file))]), blobDir, maxBytes: 1e9 });
  return registerVersion({ actor: alice, request, modelName: model, input: { format: "onnx" }, file: file_, blobDir });
}

/** What an agent says after running `workloads`: every one in `phase`, with a container and an endpoint. */
function report(workloads: Workload[], phase: ReplicaStatus["phase"], extra: Partial<ReplicaStatus> = {}): ReplicaStatus[] {
  return workloads.map((w, i) => ({
    replicaId: w.replicaId,
    deploymentId: w.deploymentId,
    phase,
    containerId: phase === "pending" || phase === "downloading" ? null : `container-${w.replicaId.slice(0, 8)}`,
    endpoint: phase === "ready" ? `http://127.0.0.1:${40000 + i}` : null,
    hostPort: phase === "ready" ? 40000 + i : null,
    restartCount: 0,
    message: null,
    observedGeneration: w.generation,
    progress: null,
    logTail: null,
    ...extra,
  }));
}

async function tell(agent: AgentIdentity, replicas: ReplicaStatus[]) {
  return ingestStatusReport({ agent, report: { observedGeneration: null, replicas }, request });
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => "ok", (error: { code?: string }) => error.code ?? String(error));

describe("deployments", () => {
  let a: AgentIdentity;
  let b: AgentIdentity;

  beforeAll(async () => {
    process.env.BERTH_SEALING_KEY = "deployments-test";
    await ensureBuiltinRuntimes({ onnxImage: "berth/onnx-runtime:test" });
    await createModel({ actor: alice, request, input: { name: "dep-iris", description: "", tags: [] } });
    await upload("dep-iris", "iris-v1.onnx");
    await upload("dep-iris", "iris-v2.onnx");
    a = await onlineServer("dep-a", { zone: "dc1" });
    b = await onlineServer("dep-b", { zone: "dc1" }, 2);
    // Nothing delivers in this file (no worker runs): the outbox rows are what is checked.
    await createWebhook({ actor: alice, request, input: { name: "dep-hook", url: "http://127.0.0.1:9/hook", events: ["deployment.finished", "replica.failed"], enabled: true } });
  });

  afterAll(() => deleteWebhook({ actor: alice, request, name: "dep-hook" }));

  it("places replicas, hands each agent only its own workloads, and records the ledger from agents' reports", async () => {
    const created = await createDeployment({ actor: alice, request, input: { name: "dep-spread", model: { model: "dep-iris", version: "1" }, selector: { zone: "dc1" }, replicas: 2, gpus: 0, env: { LOG_LEVEL: "info" } } });
    expect(created.status).toBe("progressing");
    expect(created.replicaStatuses.map((r) => r.server).sort()).toEqual(["dep-a", "dep-b"]);
    const onA = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-spread");
    const onB = (await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-spread");
    expect(onA).toHaveLength(1);
    expect(onB).toHaveLength(1);
    expect(onA[0]).toMatchObject({ modelName: "dep-iris", runtime: { name: "onnx", source: "builtin", containerPort: 8080, readinessPath: "/v2/health/ready" }, env: { LOG_LEVEL: "info" } });
    expect(onA[0]!.artifact.downloadPath).toBe(`/api/v1/agent/artifacts/${onA[0]!.artifact.sha256}`);

    // An agent cannot report on another server's replica: it is ignored.
    await tell(a, report(onB, "ready"));
    expect((await getDeployment("dep-spread")).readyReplicas).toBe(0);

    await tell(a, report(onA, "ready"));
    await tell(b, report(onB, "ready"));
    const running = await getDeployment("dep-spread");
    expect(running.status).toBe("running");
    expect(running.readyReplicas).toBe(2);
    const ledger = await listLedger({ deploymentId: running.id, limit: 10 });
    expect(ledger).toHaveLength(2);
    expect(ledger.every((e) => e.startedBy === "alice@example.com" && e.version === "1" && e.stoppedAt === null)).toBe(true);
  });

  it("rolls a new version one replica at a time, keeping the old one in service until the new one is ready, and rolls back", async () => {
    await createDeployment({ actor: alice, request, input: { name: "dep-roll", model: { model: "dep-iris", version: "1" }, servers: ["dep-a"], replicas: 2, gpus: 0, env: {} } });
    const first = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-roll");
    expect(first.map((w) => w.slot)).toEqual([0, 1]);
    await tell(a, report(first, "ready"));
    const beforeUpdate = new Date();

    const updated = await updateDeployment({ actor: alice, request, name: "dep-roll", input: { model: { model: "dep-iris", version: "2" } } });
    expect(updated.previousVersion).toBe("1");
    // Surge by one: slot 0 gets a new replica beside the old; slot 1 waits.
    let desired = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-roll");
    expect(desired).toHaveLength(3);
    const fresh = desired.filter((w) => !first.some((f) => f.replicaId === w.replicaId));
    expect(fresh.map((w) => w.slot)).toEqual([0]);
    expect(fresh[0]!.specHash).not.toBe(first[0]!.specHash);

    // The new slot-0 replica becomes ready: old slot 0 leaves, slot 1's replacement starts.
    await tell(a, [...report(first, "ready"), ...report(fresh, "ready")]);
    desired = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-roll");
    expect(desired.map((w) => `${w.slot}:${first.some((f) => f.replicaId === w.replicaId) ? "old" : "new"}`).sort()).toEqual(["0:new", "1:new", "1:old"]);
    const mid = await getDeployment("dep-roll");
    expect(mid.status).toBe("progressing");
    expect(mid.replicaStatuses.find((r) => r.id === first[0]!.replicaId)?.desired).toBe(false);

    // The agent stopped old slot 0 (absent from its report); the rest become ready.
    const second = desired.filter((w) => !first.some((f) => f.replicaId === w.replicaId));
    await tell(a, [...report([first[1]!], "ready"), ...report(second, "ready")]);
    await tell(a, report(second, "ready"));
    const done = await getDeployment("dep-roll");
    expect(done.status).toBe("running");
    expect(done.replicaStatuses.map((r) => r.version)).toEqual(["2", "2"]);
    const closed = (await listLedger({ deploymentId: done.id, limit: 20 })).filter((e) => e.stoppedAt !== null);
    expect(closed.map((e) => e.version)).toEqual(["1", "1"]);
    expect(closed.every((e) => e.stoppedBy === "alice@example.com" && e.stopReason === "replaced by dep-iris@2")).toBe(true);
    // "What ran at that moment?" The ledger answers for the past.
    const then = await listLedger({ deploymentId: done.id, at: beforeUpdate, limit: 20 });
    expect(then.map((e) => e.version)).toEqual(["1", "1"]);

    const back = await deploymentAction({ actor: alice, request, name: "dep-roll", action: "rollback" });
    expect(back.model.version).toBe("1");
    expect(back.previousVersion).toBe("2");
    const audit = await (await auditLog()).findMany({ where: { targetLabel: "dep-roll" }, orderBy: { seq: "asc" } });
    expect(audit.map((e) => e.action)).toEqual(["deployment.create", "deployment.update", "deployment.rollback"]);
    expect(audit[1]!.details).toMatchObject({ model: { from: "dep-iris@1", to: "dep-iris@2" } });
  });

  it("halts a rollout whose new replica fails, keeps the old one serving, and audits the failure", async () => {
    await createDeployment({ actor: alice, request, input: { name: "dep-halt", model: { model: "dep-iris", version: "1" }, servers: ["dep-a"], replicas: 1, gpus: 0, env: {} } });
    const old = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-halt");
    await tell(a, report(old, "ready"));
    await updateDeployment({ actor: alice, request, name: "dep-halt", input: { env: { BROKEN: "1" } } });
    const fresh = (await workloadsForServer(a.serverId)).filter((w) => w.deploymentName === "dep-halt" && w.replicaId !== old[0]!.replicaId);
    await tell(a, [...report(old, "ready"), ...report(fresh, "failed", { restartCount: 5, message: "exited 1 five times\nTraceback: boom" })]);
    const halted = await getDeployment("dep-halt");
    expect(halted.status).toBe("failed");
    expect(halted.replicaStatuses.find((r) => r.id === old[0]!.replicaId)).toMatchObject({ desired: true, phase: "ready" });
    const failure = await (await auditLog()).findFirst({ where: { action: "deployment.replica_failed", targetLabel: "dep-halt" } });
    expect(failure).toMatchObject({ actorKind: "AGENT", actorLabel: "agent on dep-a" });
    expect(failure!.details).toMatchObject({ restarts: 5, server: "dep-a" });
  });

  it("queues webhook deliveries: deployment.finished once per generation rolled out, replica.failed with the failure", async () => {
    const rows = await getDb().webhookDelivery.findMany({ where: { webhook: { name: "dep-hook" } }, orderBy: { createdAt: "asc" } });
    const of = (event: string, deployment: string) =>
      rows.filter((r) => r.event === event && (r.payload as { deployment: { name: string } }).deployment.name === deployment).map((r) => r.payload as { generation: number; replicas: number; model: { version: string } });
    expect(of("deployment.finished", "dep-spread")).toMatchObject([{ generation: 1, replicas: 2, model: { version: "1" } }]);
    // Created (generation 1), then updated to version 2: one each, though the agent reported "ready" again after both.
    const roll = of("deployment.finished", "dep-roll");
    expect(roll.map((p) => p.model.version)).toEqual(["1", "2"]);
    expect(roll[1]!.generation).toBeGreaterThan(roll[0]!.generation);
    // The halted rollout finished its first generation only; its failure is on the way.
    expect(of("deployment.finished", "dep-halt")).toHaveLength(1);
    expect(of("replica.failed", "dep-halt")).toMatchObject([{ server: { name: "dep-a" }, restarts: 5, message: "exited 1 five times\nTraceback: boom" }]);
    expect(rows.every((r) => r.state === "PENDING")).toBe(true);
  });

  it("scales, stops, starts and deletes; the row goes once the agent reports the containers gone", async () => {
    await createDeployment({ actor: alice, request, input: { name: "dep-life", model: { model: "dep-iris", version: "1" }, servers: ["dep-b"], gpus: 1, env: {} } });
    const one = (await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-life");
    expect(one).toHaveLength(1);
    expect(one[0]!.resources.gpus).toBe(1);
    await tell(b, report(one, "ready"));
    await updateDeployment({ actor: alice, request, name: "dep-life", input: { replicas: 3 } });
    const three = (await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-life");
    expect(three.map((w) => w.slot)).toEqual([0, 1, 2]);
    expect(three[0]!.replicaId).toBe(one[0]!.replicaId);
    await updateDeployment({ actor: alice, request, name: "dep-life", input: { replicas: 1 } });
    expect((await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-life").map((w) => w.slot)).toEqual([0]);

    const stopped = await deploymentAction({ actor: alice, request, name: "dep-life", action: "stop" });
    expect(stopped.status).toBe("stopping");
    expect((await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-life")).toHaveLength(0);
    await tell(b, []);
    expect((await getDeployment("dep-life")).status).toBe("stopped");
    await deploymentAction({ actor: alice, request, name: "dep-life", action: "start" });
    const again = (await workloadsForServer(b.serverId)).filter((w) => w.deploymentName === "dep-life");
    expect(again).toHaveLength(1);
    await tell(b, report(again, "ready"));

    expect(await codeOf(deleteVersion({ actor: alice, request, modelName: "dep-iris", label: "1", blobDir }))).toBe("conflict");
    await deleteDeployment({ actor: alice, request, name: "dep-life" });
    expect((await getDeployment("dep-life")).status).toBe("deleting");
    await tell(b, []);
    expect(await codeOf(getDeployment("dep-life"))).toBe("not_found");
    const actions = (await (await auditLog()).findMany({ where: { targetLabel: "dep-life" }, orderBy: { seq: "asc" } })).map((e) => e.action);
    expect(actions).toEqual(["deployment.create", "deployment.scale", "deployment.scale", "deployment.stop", "deployment.start", "deployment.delete"]);
  });

  it("refuses unfit servers with the reason and writes nothing", async () => {
    const offline = await onlineServer("dep-offline");
    await getDb().server.update({ where: { id: offline.serverId }, data: { connectivity: "OFFLINE" } });
    await onlineServer("dep-disabled");
    await setServerAdminState({ actor: alice, request, name: "dep-disabled", action: "disable" });
    const attempt = (input: Record<string, unknown>) =>
      createDeployment({ actor: alice, request, input: { name: "dep-refused", model: { model: "dep-iris", version: "1" }, gpus: 0, env: {}, ...input } as never }).then(
        () => "created",
        (error: Error & { code: string }) => `${error.code}: ${error.message}`,
      );
    expect(await attempt({ servers: ["dep-offline"] })).toMatch(/unprocessable: .*"dep-offline" is offline/);
    expect(await attempt({ servers: ["dep-disabled"] })).toMatch(/"dep-disabled" is disabled/);
    expect(await attempt({ servers: ["dep-a"], gpus: 1 })).toMatch(/"dep-a" has 0 GPUs; the deployment asks for 1/);
    expect(await attempt({ servers: ["dep-a"], memory: 64 * 1024 ** 3 })).toMatch(/16\.0 GiB of memory/);
    expect(await attempt({ selector: { zone: "nowhere" } })).toMatch(/No server matches the selector zone=nowhere/);
    expect(await attempt({ servers: ["no-such-server"] })).toMatch(/No server named "no-such-server"/);
    expect(await getDb().deployment.findUnique({ where: { name: "dep-refused" } })).toBeNull();
  });

  it("refuses a second deployment of the same name, saying so when the first is still being deleted", async () => {
    const input = { name: "dep-twice", model: { model: "dep-iris", version: "1" }, servers: ["dep-a"], gpus: 0, env: {} };
    await createDeployment({ actor: alice, request, input });
    const again = () => createDeployment({ actor: alice, request, input }).then(() => "created", (error: Error & { code: string }) => `${error.code}: ${error.message}`);
    expect(await again()).toBe('conflict: A deployment named "dep-twice" already exists');
    await deleteDeployment({ actor: alice, request, name: "dep-twice" }); // its replica's container is not reported gone yet
    expect(await again()).toBe('conflict: Deployment "dep-twice" is still being deleted (its containers are stopping); try again shortly');
    expect((await (await auditLog()).findMany({ where: { targetLabel: "dep-twice", action: "deployment.create" } })).length).toBe(1);
  });

  it("moves replicas off a disabled server and closes the ledger of a removed one", async () => {
    const c = await onlineServer("dep-c", { pool: "move" });
    const d = await onlineServer("dep-d", { pool: "move" });
    await createDeployment({ actor: alice, request, input: { name: "dep-move", model: { model: "dep-iris", version: "1" }, selector: { pool: "move" }, replicas: 1, gpus: 0, env: {} } });
    const [first] = (await getDeployment("dep-move")).replicaStatuses;
    const from = first!.server === "dep-c" ? c : d;
    const to = first!.server === "dep-c" ? d : c;
    await tell(from, report((await workloadsForServer(from.serverId)).filter((w) => w.deploymentName === "dep-move"), "ready"));
    await setServerAdminState({ actor: alice, request, name: from.serverName, action: "disable" });
    expect((await workloadsForServer(from.serverId)).filter((w) => w.deploymentName === "dep-move")).toHaveLength(0);
    const moved = (await workloadsForServer(to.serverId)).filter((w) => w.deploymentName === "dep-move");
    expect(moved).toHaveLength(1);
    await tell(to, report(moved, "ready"));
    await removeServer({ actor: alice, request, name: from.serverName });
    const ledger = await listLedger({ deploymentId: (await getDeployment("dep-move")).id, limit: 10 });
    expect(ledger.find((e) => e.server === from.serverName)).toMatchObject({ stopReason: "server removed from Berth", stoppedBy: "alice@example.com" });
    expect((await getDeployment("dep-move")).status).toBe("running");
  });

  it("lets an agent download only artifacts its own desired state names", async () => {
    const lonely = await onlineServer("dep-lonely");
    const sha = (await workloadsForServer(a.serverId))[0]!.artifact.sha256;
    expect(await codeOf(openArtifactForAgent({ agent: lonely, sha256: sha, blobDir, range: null, request }))).toBe("forbidden");
    const opened = await openArtifactForAgent({ agent: a, sha256: sha, blobDir, range: "bytes=0-", request });
    expect(readFileSync(opened.path).length).toBe(opened.size);
    await recordHeartbeat({ agent: lonely, inventory: inventory(), observedGeneration: 1, request });
  });

  it("keeps registry passwords sealed: never in the API view, the audit log, or the table", async () => {
    const runtime = await createRuntime({
      actor: alice,
      request,
      input: { name: "dep-triton", description: "", image: "registry.internal/triton:24.05", containerPort: 8000, readinessPath: "/v2/health/ready", protocol: "open_inference_v2", modelMountPath: "/models", supportedFormats: ["onnx"], args: [], env: {}, registryUsername: "svc", registryPassword: "hunter2-registry" },
    });
    expect(runtime.hasRegistryPassword).toBe(true);
    expect(dump(await getRuntime("dep-triton"))).not.toContain("hunter2-registry");
    expect(dump(await getDb().runtime.findMany())).not.toContain("hunter2-registry");
    expect(dump(await (await auditLog()).findMany({ where: { action: "runtime.create" } }))).not.toContain("hunter2-registry");
    await createDeployment({ actor: alice, request, input: { name: "dep-private", model: { model: "dep-iris", version: "1" }, servers: ["dep-a"], runtime: "dep-triton", gpus: 0, env: {} } });
    const workload = (await workloadsForServer(a.serverId)).find((w) => w.deploymentName === "dep-private");
    expect(workload?.runtime.registryAuth).toEqual({ username: "svc", password: "hunter2-registry", serveraddress: "registry.internal" });
    expect((await verifyAuditChain()).ok).toBe(true);
  });
});
