import { readFileSync } from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { expect, test } from "@playwright/test";
import { adminToken, bearer } from "../fixtures";
import { startAgent } from "../agent-process";
import { freePort, startReplica } from "../control-plane";

const samples = path.resolve(import.meta.dirname, "../../samples/iris");
type Outputs = { label: number; probabilities: number[] }[];
const expected = JSON.parse(readFileSync(path.join(samples, "expected.json"), "utf8")) as { inputs: number[][]; v1: { outputs: Outputs }; v2: { outputs: Outputs } };

type Replica = { id: string; slot: number; phase: string; desired: boolean; current: boolean; version: string; containerId: string | null; endpoint: string | null; restartCount: number };
type Deployment = { id: string; status: string; readyReplicas: number; replicaStatuses: Replica[]; model: { version: string } };

const inferBody = (rows: number[][]) => ({ inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 4], data: rows.flat() }] });

function checkPredictions(body: { outputs: { name: string; data: number[] }[] }, outputs: Outputs) {
  const labels = body.outputs.find((o) => o.name === "label")!.data;
  const probabilities = body.outputs.find((o) => o.name === "probabilities")!.data;
  expect(labels).toEqual(outputs.map((o) => o.label));
  outputs.forEach((o, row) => o.probabilities.forEach((p, i) => expect(probabilities[row * 3 + i]).toBeCloseTo(p, 5)));
}

/**
 * The whole path with real parts: a control-plane process (stopped and
 * restarted by the test), a real `berth agent`, this machine's Docker Engine
 * running the built-in ONNX runtime image, and the iris sample model.
 */
test("deploy, infer through the gateway and directly, roll out under traffic with no failed request, survive a killed container, a killed agent and a stopped control plane, delete", async ({ request }) => {
  test.setTimeout(300_000);
  const stamp = Date.now().toString(36);
  const model = `e2e-iris-${stamp}`;
  const { secret } = await adminToken(request);
  const headers = bearer(secret);
  expect((await request.post("/api/v1/models", { headers, data: { name: model } })).status()).toBe(201);
  for (const file of ["iris-v1.onnx", "iris-v2.onnx"]) {
    const upload = await request.post(`/api/v1/models/${model}/versions?format=onnx&fileName=${file}`, { headers: { ...headers, "content-type": "application/octet-stream" }, data: readFileSync(path.join(samples, file)) });
    expect(upload.status(), await upload.text()).toBe(201);
  }
  const inferToken = ((await (await request.post("/api/v1/tokens", { headers, data: { name: `infer-${stamp}`, role: "VIEWER", canInfer: true } })).json()) as { secret: string }).secret;
  const server = `e2e-host-${stamp}`;
  const { enrolmentToken } = (await (await request.post("/api/v1/servers", { headers, data: { name: server } })).json()) as { enrolmentToken: string };

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let controlPlane = await startReplica(port);
  let agent = startAgent({ url: base, token: enrolmentToken, args: ["--advertise-address", "127.0.0.1"] });
  const docker = new Docker();
  const name = `e2e-dep-${stamp}`;
  const show = async (): Promise<Deployment> => ((await (await request.get(`/api/v1/deployments/${name}`, { headers })).json()) as { deployment: Deployment }).deployment;
  const ourContainers = async (deploymentId: string) => docker.listContainers({ all: true, filters: { label: [`io.berth.deployment=${deploymentId}`] } });
  const infer = (rows: number[][], via = base) =>
    fetch(`${via}/api/v1/infer/${name}/v2/models/${model}/infer`, { method: "POST", headers: { authorization: `Bearer ${inferToken}`, "content-type": "application/json" }, body: JSON.stringify(inferBody(rows)) });
  try {
    await expect.poll(() => agent.log(), { timeout: 30_000 }).toContain("connected");
    const created = await request.post(`${base}/api/v1/deployments`, { headers, data: { name, model: `${model}@1`, servers: [server], replicas: 2, memory: "512m" } });
    expect(created.status(), await created.text()).toBe(201);
    await expect.poll(async () => (await show()).status, { timeout: 120_000 }).toBe("running");
    const running = await show();
    expect(await ourContainers(running.id)).toHaveLength(2);

    // Real predictions, through the gateway and straight from each container.
    const answer = await infer(expected.inputs);
    expect(answer.status).toBe(200);
    checkPredictions((await answer.json()) as never, expected.v1.outputs);
    for (const replica of running.replicaStatuses) {
      const direct = await fetch(`${replica.endpoint}/v2/models/${model}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(expected.inputs)) });
      checkPredictions((await direct.json()) as never, expected.v1.outputs);
    }

    // Roll out version 2 while four clients keep asking: not one request may fail.
    let stop = false;
    const tally = { ok: 0, failed: [] as string[] };
    const clients = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const response = await infer([expected.inputs[0]!]).catch((error: Error) => ({ status: 0, text: async () => error.message }));
        if (response.status === 200) tally.ok++;
        else tally.failed.push(`${response.status} ${await response.text()}`);
      }
    });
    const update = await request.patch(`${base}/api/v1/deployments/${name}`, { headers, data: { model: `${model}@2` } });
    expect(update.status(), await update.text()).toBe(200);
    await expect
      .poll(async () => {
        const d = await show();
        return d.status === "running" && d.replicaStatuses.length === 2 && d.replicaStatuses.every((r) => r.version === "2" && r.phase === "ready");
      }, { timeout: 120_000 })
      .toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(clients);
    expect(tally.failed).toEqual([]);
    expect(tally.ok).toBeGreaterThan(50);
    checkPredictions((await (await infer(expected.inputs)).json()) as never, expected.v2.outputs);

    // Kill a container: the agent restarts it.
    const before = await show();
    const victim = before.replicaStatuses[0]!;
    await docker.getContainer(victim.containerId!).kill();
    await expect
      .poll(async () => {
        const r = (await show()).replicaStatuses.find((x) => x.id === victim.id);
        return r ? `${r.phase}/${r.restartCount}` : "gone";
      }, { timeout: 60_000 })
      .toBe("ready/1");

    // Kill the agent and start it again: it adopts the containers and makes no duplicate.
    const ids = (await ourContainers(before.id)).map((c) => c.Id).sort();
    await agent.stop("SIGKILL");
    agent = startAgent({ url: base, stateDir: agent.stateDir, args: ["--advertise-address", "127.0.0.1"] });
    await expect.poll(() => agent.log(), { timeout: 30_000 }).toContain("connected");
    await new Promise((r) => setTimeout(r, 4000)); // a few reconcile passes
    expect((await ourContainers(before.id)).map((c) => c.Id).sort()).toEqual(ids);
    expect((await show()).status).toBe("running");

    // Stop the control plane: the containers keep answering.
    await new Promise<void>((resolve) => {
      controlPlane.once("exit", () => resolve());
      controlPlane.kill("SIGTERM");
    });
    const endpoints = (await show()).replicaStatuses.map((r) => r.endpoint!);
    for (const endpoint of endpoints) {
      const direct = await fetch(`${endpoint}/v2/models/${model}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(inferBody(expected.inputs)) });
      expect(direct.status).toBe(200);
      checkPredictions((await direct.json()) as never, expected.v2.outputs);
    }
    await expect.poll(() => agent.log(), { timeout: 20_000 }).toContain("control plane unavailable");
    controlPlane = await startReplica(port);
    await expect.poll(() => agent.log().split("control plane unavailable")[1] ?? "", { timeout: 40_000 }).toContain("connected");

    // Delete: the containers go, then the deployment.
    expect((await request.delete(`${base}/api/v1/deployments/${name}`, { headers })).status()).toBe(202);
    await expect.poll(async () => (await request.get(`/api/v1/deployments/${name}`, { headers })).status(), { timeout: 60_000 }).toBe(404);
    expect(await ourContainers(before.id)).toHaveLength(0);
  } finally {
    await test.info().attach("agent log", { body: agent.log(), contentType: "text/plain" });
    await test.info().attach("deployment", { body: JSON.stringify(await show().catch(() => null), null, 2), contentType: "application/json" });
    await agent.stop();
    controlPlane.kill("SIGKILL");
  }
});

