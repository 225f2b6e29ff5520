import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminToken, bearer, signInThroughApi } from "../fixtures";
import { freePort, startReplica } from "../control-plane";

/**
 * Scaling out: a second control-plane process on the same database and the
 * same artifact folder serves the same Berth. An artifact uploaded through one
 * downloads from the other, a browser session made on one is valid on the
 * other, and a change made on one wakes an agent's long-poll held by the
 * other within a second (PostgreSQL LISTEN/NOTIFY).
 */
const iris = readFileSync(path.resolve("samples/iris/iris-v1.onnx"));

test("two control planes on one database and one artifact folder serve the same fleet, browsers and artifacts", async ({ request, playwright, baseURL }) => {
  test.setTimeout(120_000);
  const { secret } = await adminToken(request, "ADMIN", "scale-out-admin");
  const port = await freePort();
  const replica = await startReplica(port);
  const other = `http://127.0.0.1:${port}`;
  try {
    // An artifact uploaded through the first downloads, byte for byte, from the second.
    const model = `scale-out-${Date.now()}`;
    expect((await request.post("/api/v1/models", { headers: bearer(secret), data: { name: model } })).status()).toBe(201);
    const upload = await request.post(`/api/v1/models/${model}/versions?format=onnx`, { headers: { ...bearer(secret), "content-type": "application/octet-stream" }, data: iris });
    expect(upload.status()).toBe(201);
    const download = await request.get(`${other}/api/v1/models/${model}/versions/1/artifact`, { headers: bearer(secret) });
    expect(download.status()).toBe(200);
    expect(createHash("sha256").update(await download.body()).digest("hex")).toBe(createHash("sha256").update(iris).digest("hex"));

    // A browser session made on the first is valid on the second (one session secret, sessions in the database).
    const browser = await playwright.request.newContext({ baseURL });
    await signInThroughApi(browser);
    const cookies = (await browser.storageState()).cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const me = await request.get(`${other}/api/v1/me`, { headers: { cookie: cookies } });
    expect(me.status()).toBe(200);
    expect(((await me.json()) as { label: string }).label).toBe("admin@berth.test");
    await browser.dispose();

    // An agent's long-poll held by the second wakes within a second of a change made on the first.
    const added = await request.post("/api/v1/servers", { headers: bearer(secret), data: { name: `scale-out-${Date.now()}` } });
    expect(added.status()).toBe(201);
    const { server, enrolmentToken } = (await added.json()) as { server: { name: string }; enrolmentToken: string };
    const inventory = {
      hostname: "scale-out-host", os: { platform: "linux", release: "x", kernel: "6", arch: "x64" }, cpu: { model: "test", cores: 2 },
      memory: { totalBytes: 8e9, freeBytes: 4e9 }, disk: null, docker: { available: true, version: "test", apiVersion: "1.43", error: null }, gpus: [], agentVersion: "test", containers: [],
    };
    const enrol = await request.post(`${other}/api/v1/agent/enrol`, { data: { token: enrolmentToken, inventory } });
    expect(enrol.status()).toBe(201);
    const { credential } = (await enrol.json()) as { credential: string };
    const first = (await (await request.get(`${other}/api/v1/agent/desired-state?waitSeconds=0`, { headers: bearer(credential) })).json()) as { generation: number };

    const poll = request.get(`${other}/api/v1/agent/desired-state?after=${first.generation}&waitSeconds=20`, { headers: bearer(credential) });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the poll is held
    const changed = Date.now();
    // A deployment placed on the server, made through the first control plane: the server's desired state changes.
    const deployment = `scale-out-${Date.now()}`;
    const created = await request.post("/api/v1/deployments", { headers: bearer(secret), data: { name: deployment, model: `${model}@1`, servers: [server.name] } });
    expect(created.status(), await created.text()).toBe(201);
    const woken = (await (await poll).json()) as { generation: number; workloads: { deploymentName: string }[] };
    const latency = Date.now() - changed;
    expect(woken.generation).toBeGreaterThan(first.generation);
    expect(woken.workloads.map((w) => w.deploymentName)).toContain(deployment);
    // Includes the create request itself (about 0.1 s here).
    expect(latency).toBeLessThan(1000);

    expect((await request.delete(`/api/v1/servers/${server.name}`, { headers: bearer(secret) })).status()).toBe(200);
    // Removal on the first revokes the credential on the second at once.
    expect((await request.get(`${other}/api/v1/agent/desired-state?waitSeconds=0`, { headers: bearer(credential) })).status()).toBe(401);
  } finally {
    replica.kill("SIGTERM");
  }
});
