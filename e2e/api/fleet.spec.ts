import { spawn } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import path from "node:path";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { adminToken, bearer, recentAuditEvents } from "../fixtures";
import { startAgent } from "../agent-process";
import { freePort, startReplica } from "../control-plane";

const inventory = (hostname: string) => ({
  hostname,
  os: { platform: "linux", release: "6.1", kernel: "#1 SMP", arch: "x64" },
  cpu: { model: "test cpu", cores: 4 },
  memory: { totalBytes: 8e9, freeBytes: 4e9 },
  disk: null,
  docker: { available: false, version: null, apiVersion: null, error: "none here" },
  gpus: [],
  agentVersion: "test",
  containers: [],
});

async function addServer(request: APIRequestContext, secret: string, name = `srv-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`) {
  const response = await request.post("/api/v1/servers", { headers: bearer(secret), data: { name, labels: { zone: "dc1" } } });
  expect(response.status(), await response.text()).toBe(201);
  return { name, ...((await response.json()) as { enrolmentToken: string; server: { id: string }; commands: { npx: string; bundle: string } }) };
}

async function serverState(request: APIRequestContext, secret: string, name: string) {
  return ((await (await request.get(`/api/v1/servers/${name}`, { headers: bearer(secret) })).json()) as { server: { state: string } }).server.state;
}

test("enrolment: a token works once, the credential is private to its server, removal locks the agent out", async ({ request }) => {
  const { secret } = await adminToken(request);
  const a = await addServer(request, secret);
  const b = await addServer(request, secret);
  expect(a.commands.npx).toContain(`--token ${a.enrolmentToken}`);

  const enrolled = await request.post("/api/v1/agent/enrol", { data: { token: a.enrolmentToken, inventory: inventory("host-a") } });
  expect(enrolled.status()).toBe(201);
  const { credential } = await enrolled.json();
  expect(credential).toMatch(/^berth_agent_/);
  const again = await request.post("/api/v1/agent/enrol", { data: { token: a.enrolmentToken, inventory: inventory("host-a") } });
  expect(again.status()).toBe(401);

  const credentialB = (await (await request.post("/api/v1/agent/enrol", { data: { token: b.enrolmentToken, inventory: inventory("host-b") } })).json()).credential as string;
  // Each credential speaks only for its own server: heartbeats land on it, not on the other.
  expect((await request.post("/api/v1/agent/heartbeat", { headers: bearer(credentialB), data: { inventory: inventory("host-b2"), observedGeneration: 1 } })).status()).toBe(200);
  const detailA = await (await request.get(`/api/v1/servers/${a.name}`, { headers: bearer(secret) })).json();
  expect(detailA.server.hostname).toBe("host-a");
  // Agent credentials open no user route, and user tokens open no agent route.
  expect((await request.get("/api/v1/models", { headers: bearer(credential) })).status()).toBe(401);
  expect((await request.get("/api/v1/agent/desired-state", { headers: bearer(secret) })).status()).toBe(401);

  expect((await request.delete(`/api/v1/servers/${a.name}`, { headers: bearer(secret) })).status()).toBe(200);
  const afterRemoval = await request.post("/api/v1/agent/heartbeat", { headers: bearer(credential), data: { inventory: inventory("host-a"), observedGeneration: 1 } });
  expect(afterRemoval.status()).toBe(401);

  const events = await recentAuditEvents(request, secret, 100);
  expect(events.find((e) => e.action === "server.enrol" && e.outcome === "DENIED")?.details.reason).toBe("unknown or already used enrolment token");
  expect(events.some((e) => e.action === "agent.heartbeat" && e.outcome === "DENIED" && e.details.reason === "unknown_credential")).toBe(true);
  const serialized = JSON.stringify(events);
  expect(serialized).not.toContain(credential);
  expect(serialized).not.toContain(a.enrolmentToken);
});

test("the desired-state long-poll answers at once the first time, then holds while nothing changes", async ({ request }) => {
  const { secret } = await adminToken(request);
  const s = await addServer(request, secret);
  const { credential } = await (await request.post("/api/v1/agent/enrol", { data: { token: s.enrolmentToken, inventory: inventory("poller") } })).json();
  const first = await (await request.get("/api/v1/agent/desired-state", { headers: bearer(credential) })).json();
  expect(first).toEqual({ generation: 1, workloads: [], drainSeconds: expect.any(Number) });
  // Nothing changes: the poll is held for its full wait.
  const started = Date.now();
  const quiet = await (await request.get("/api/v1/agent/desired-state?after=1&waitSeconds=2", { headers: bearer(credential) })).json();
  expect(quiet.generation).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
});

test("a real agent backs off while the control plane is stopped and reconnects when it returns", async ({ request }) => {
  test.setTimeout(90_000);
  const { secret } = await adminToken(request);
  const s = await addServer(request, secret);
  const port = await freePort();
  let replica = await startReplica(port);
  const agent = startAgent({ url: `http://127.0.0.1:${port}`, token: s.enrolmentToken });
  try {
    await expect.poll(() => agent.log(), { timeout: 20_000 }).toContain("connected");
    expect(statSync(path.join(agent.stateDir, "agent.json")).mode & 0o777).toBe(0o600);
    expect(statSync(agent.stateDir).mode & 0o777).toBe(0o700);
    expect(agent.log()).not.toContain(agent.credentialFile().match(/berth_agent_\S+?"/)?.[0]?.slice(0, -1) ?? "no credential");

    // Really stop the control plane.
    await new Promise<void>((resolve) => {
      replica.once("exit", () => resolve());
      replica.kill("SIGTERM");
    });
    await expect.poll(() => agent.log(), { timeout: 15_000 }).toContain("control plane unavailable");
    await new Promise((r) => setTimeout(r, 6000)); // several retries' worth
    expect(agent.log().match(/control plane unavailable/g)).toHaveLength(1); // one line per change, not per retry
    expect(agent.child.exitCode).toBeNull(); // and it does not give up

    replica = await startReplica(port);
    await expect.poll(() => agent.log().split("control plane unavailable")[1] ?? "", { timeout: 40_000 }).toContain("connected");
    await expect.poll(() => serverState(request, secret, s.name), { timeout: 10_000 }).toBe("online");
  } finally {
    await agent.stop();
    replica.kill("SIGKILL");
  }
});

test("a killed agent's server goes offline after missed heartbeats, and the audit log says so", async ({ request }) => {
  const { secret } = await adminToken(request);
  const s = await addServer(request, secret);
  const agent = startAgent({ url: test.info().project.use.baseURL!, token: s.enrolmentToken });
  try {
    await expect.poll(() => serverState(request, secret, s.name), { timeout: 20_000 }).toBe("online");
    await agent.stop("SIGKILL");
    await expect.poll(() => serverState(request, secret, s.name), { timeout: 20_000 }).toBe("offline");
    const offline = (await recentAuditEvents(request, secret, 100)).find((e) => e.action === "server.offline" && e.targetLabel === s.name);
    expect(offline?.actorLabel).toBe("offline detector");
  } finally {
    await agent.stop();
  }
});

test("credential rotation: the agent takes a new credential at its next heartbeat and the old one stops working", async ({ request }) => {
  const { secret } = await adminToken(request);
  const s = await addServer(request, secret);
  const agent = startAgent({ url: test.info().project.use.baseURL!, token: s.enrolmentToken });
  try {
    await expect.poll(() => agent.log(), { timeout: 20_000 }).toContain("connected");
    const before = JSON.parse(agent.credentialFile()).credential as string;
    expect((await request.post(`/api/v1/servers/${s.name}/rotate-credential`, { headers: bearer(secret) })).status()).toBe(200);
    await expect.poll(() => agent.log(), { timeout: 15_000 }).toContain("credential rotated");
    const after = JSON.parse(agent.credentialFile()).credential as string;
    expect(after).not.toBe(before);
    // Once the new credential has been used, the old one is refused.
    await expect.poll(async () => (await request.post("/api/v1/agent/heartbeat", { headers: bearer(before), data: { inventory: inventory("x"), observedGeneration: 1 } })).status(), { timeout: 10_000 }).toBe(401);
  } finally {
    await agent.stop();
  }
});

test("the single-file agent, downloaded from the control plane as the enrolment command says, runs from a folder with nothing but itself, and enrols", async ({ request }) => {
  const { secret } = await adminToken(request);
  const s = await addServer(request, secret);
  expect(s.commands.bundle).toMatch(/^curl -fsSLO \S+\/downloads\/berth-agent\.mjs && node berth-agent\.mjs --url /);
  const bare = mkdtempSync(path.join(process.env.BERTH_E2E_DATA_DIR!, "bare-host-"));
  const download = await request.get("/downloads/berth-agent.mjs"); // no credentials: the bundle holds no secret
  expect(download.status()).toBe(200);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(path.join(bare, "berth-agent.mjs"), await download.body());
  let log = "";
  const agent = spawn(process.execPath, ["berth-agent.mjs", "--url", test.info().project.use.baseURL!, "--token", s.enrolmentToken, "--state-dir", path.join(bare, "state")], {
    cwd: bare,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agent.stdout!.on("data", (c: Buffer) => (log += c));
  agent.stderr!.on("data", (c: Buffer) => (log += c));
  try {
    await expect.poll(() => serverState(request, secret, s.name), { timeout: 20_000 }).toBe("online");
    expect(log).toContain(`enrolled server=${s.name}`);
  } finally {
    agent.kill("SIGTERM");
  }
});
