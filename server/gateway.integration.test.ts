import { execFile } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestDatabase, auditLog } from "@/test/use-database";
import { seedDeployment } from "@/test/gateway-fixtures";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import { createApiToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { hashPassword } from "@/lib/auth/passwords";
import { signIn } from "@/lib/auth/users";
import { flushInferenceLog, purgeInferenceLog } from "@/lib/gateway/access-log";
import { invalidateAllRoutes, invalidateDeploymentRoutes } from "@/lib/gateway/routing";
import { closeAllPools } from "@/lib/gateway/proxy";
import { runInfer } from "@/cli/infer";
import { GET as listInferenceLogRoute } from "@/app/api/v1/inference-log/route";
import { GET as exportInferenceLogRoute } from "@/app/api/v1/inference-log/export.csv/route";
import { berthRequestListener, type AccessLogLine } from "./http";
import { reloadGatewaySettings } from "./gateway";

/**
 * The gateway end to end: the real request listener of server/http.ts (with
 * a 404 in place of Next), real PostgreSQL, and real upstream HTTP servers
 * speaking Open Inference Protocol V2 JSON.
 */
connectTestDatabase();
process.env.NEXTAUTH_SECRET = "gateway-integration-test-secret";
const request = { requestId: "it", sourceAddress: "127.0.0.1", userAgent: null };

type Upstream = { url: string; seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[]; close: () => Promise<void> };

/** A tiny V2 runtime: answers infer with its own tag, so tests can see who answered. */
async function upstream(tag: string, options: { delayMs?: number } = {}): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method!, url: req.url!, body, headers: req.headers });
      const answer = () => {
        if (req.url === "/v2/health/ready") return void res.writeHead(200).end();
        const parsed = body ? (JSON.parse(body) as { inputs: { shape: number[] }[] }) : { inputs: [{ shape: [1] }] };
        const rows = parsed.inputs[0]?.shape[0] ?? 1;
        const payload = JSON.stringify({ model_name: "iris", outputs: [{ name: "label", datatype: "INT64", shape: [rows], data: Array(rows).fill(tag === "b" ? 2 : 1) }, { name: "tag", datatype: "BYTES", shape: [1], data: [tag] }] });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
        res.end(payload);
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A port nothing listens on: connections to it are refused. */
async function refusedEndpoint(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

let berth: http.Server;
let base = "";
let a: Upstream;
let b: Upstream;
let slow: Upstream;
let inferToken = "";
let plainToken = "";
let readToken = "";
const V2_BODY = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });

beforeAll(async () => {
  await getDb().$executeRawUnsafe("TRUNCATE deployments, replicas, runtimes, inference_log CASCADE");
  invalidateAllRoutes();
  [a, b, slow] = await Promise.all([upstream("a"), upstream("b"), upstream("slow", { delayMs: 3_000 })]);
  const mint = async (name: string, canInfer: boolean) =>
    (await createApiToken({ actor: systemActor(), request, input: { name, role: "VIEWER", canInfer } })).secret;
  [inferToken, plainToken, readToken] = await Promise.all([mint("gw-infer", true), mint("gw-plain", false), mint("gw-read", false)]);
  berth = http.createServer(
    berthRequestListener({
      uploads: async (_req, res) => void res.writeHead(404).end(),
      fallback: (_req, res) => void res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"not_found","message":"not served in this test"}}'),
      accessLog: (line) => accessLines.push(line),
    }),
  );
  await new Promise<void>((resolve) => berth.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(berth.address() as AddressInfo).port}`;
});

const accessLines: AccessLogLine[] = [];

afterAll(async () => {
  await new Promise((resolve) => (berth.closeAllConnections(), berth.close(resolve)));
  await Promise.all([a, b, slow].map((u) => u.close()));
  await closeAllPools();
});

function infer(deployment: string, options: { token?: string | null; body?: string; path?: string; method?: string; headers?: Record<string, string> } = {}) {
  const token = options.token === undefined ? inferToken : options.token;
  return fetch(`${base}/api/v1/infer/${deployment}/${options.path ?? "v2/models/iris/infer"}`, {
    method: options.method ?? "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
    body: (options.method ?? "POST") === "POST" ? (options.body ?? V2_BODY) : undefined,
  });
}

async function tagOf(response: Response): Promise<string> {
  const body = (await response.json()) as { outputs: { name: string; data: string[] }[] };
  return body.outputs.find((o) => o.name === "tag")!.data[0]!;
}

describe("the inference gateway", () => {
  it("round-robins across the ready replicas, streaming the body both ways", async () => {
    const { addReplica } = await seedDeployment({ name: "gw-iris", model: "iris" });
    await addReplica({ endpoint: a.url });
    await addReplica({ endpoint: b.url });
    const tags: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await infer("gw-iris");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-berth-replica")).toBeTruthy();
      tags.push(await tagOf(response));
    }
    expect(tags.filter((t) => t === "a")).toHaveLength(3);
    expect(tags.filter((t) => t === "b")).toHaveLength(3);
    expect(new Set(tags.slice(0, 2))).toEqual(new Set(["a", "b"]));
    // The replica got the client's body and path, and none of Berth's credentials.
    const last = a.seen.at(-1)!;
    expect(last.url).toBe("/v2/models/iris/infer");
    expect(last.body).toBe(V2_BODY);
    expect(last.headers.authorization).toBeUndefined();
    expect(last.headers["x-request-id"]).toBeTruthy();
  });

  it("streams both ways: an OpenAI runtime's server-sent events arrive as they are sent, a large body arrives whole", async () => {
    let received = 0;
    const sse = http.createServer((req, res) => {
      req.on("data", (c: Buffer) => (received += c.length));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write('data: {"delta":"first"}\n\n');
        setTimeout(() => res.end('data: {"delta":"second"}\n\ndata: [DONE]\n\n'), 400);
      });
    });
    await new Promise<void>((resolve) => sse.listen(0, "127.0.0.1", resolve));
    try {
      const { addReplica } = await seedDeployment({ name: "gw-chat", protocol: "OPENAI" });
      await addReplica({ endpoint: `http://127.0.0.1:${(sse.address() as AddressInfo).port}` });
      const big = JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "x".repeat(8 * 1024 * 1024) }] });
      const started = Date.now();
      const response = await infer("gw-chat", { path: "v1/chat/completions", body: big });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/event-stream");
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      const firstAt = Date.now();
      expect(first).toContain("first");
      let rest = "";
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      expect(rest).toContain("[DONE]");
      // The first event reached the client while the replica was still holding the second.
      expect(Date.now() - firstAt).toBeGreaterThanOrEqual(300);
      expect(firstAt - started).toBeLessThan(Date.now() - started - 300);
      expect(received).toBe(Buffer.byteLength(big));
    } finally {
      sse.closeAllConnections();
      await new Promise((resolve) => sse.close(resolve));
    }
  });

  it("skips replicas that are not READY, not desired, or have no endpoint", async () => {
    const { deployment, addReplica } = await seedDeployment({ name: "gw-mixed", model: "iris" });
    await addReplica({ endpoint: a.url });
    await addReplica({ endpoint: b.url, phase: "STARTING" });
    await addReplica({ endpoint: b.url, desired: false });
    await addReplica({ endpoint: null });
    invalidateDeploymentRoutes(deployment.id);
    const tags = [];
    for (let i = 0; i < 4; i++) tags.push(await tagOf(await infer("gw-mixed")));
    expect(tags).toEqual(["a", "a", "a", "a"]);
  });

  it("drops a replica from rotation at once when the deployments code invalidates the routes", async () => {
    const { deployment, addReplica } = await seedDeployment({ name: "gw-drain", model: "iris" });
    const first = await addReplica({ endpoint: a.url });
    await addReplica({ endpoint: b.url });
    await infer("gw-drain"); // loads and caches the routes
    await getDb().replica.update({ where: { id: first.id }, data: { desired: false } });
    invalidateDeploymentRoutes(deployment.id);
    const tags = [];
    for (let i = 0; i < 3; i++) tags.push(await tagOf(await infer("gw-drain")));
    expect(tags).toEqual(["b", "b", "b"]);
  });

  it("reads a called deployment's routes again as soon as they are invalidated, not at its next request", async () => {
    const { deployment, addReplica } = await seedDeployment({ name: "gw-prime", model: "iris" });
    await addReplica({ endpoint: a.url });
    await infer("gw-prime"); // called: its routes are cached
    const joining = await addReplica({ endpoint: b.url }); // turns ready...
    invalidateDeploymentRoutes(deployment.id); // ...and the report's commit says so
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Changed behind the cache's back: a request now still sees what was read at the invalidation.
    await getDb().replica.update({ where: { id: joining.id }, data: { phase: "STARTING" } });
    const tags = new Set<string>();
    for (let i = 0; i < 4; i++) tags.add(await tagOf(await infer("gw-prime")));
    expect([...tags].sort()).toEqual(["a", "b"]);
    invalidateDeploymentRoutes(deployment.id);
  });

  it("retries a replica that refuses connections on another, with no failure the client can see", async () => {
    const { addReplica } = await seedDeployment({ name: "gw-retry", model: "iris" });
    await addReplica({ endpoint: await refusedEndpoint() });
    await addReplica({ endpoint: b.url });
    const before = b.seen.length;
    for (let i = 0; i < 4; i++) {
      const response = await infer("gw-retry");
      expect(response.status).toBe(200);
      expect(await tagOf(response)).toBe("b");
    }
    // Each POST body arrived whole at the replica that answered.
    expect(b.seen.slice(before).map((s) => s.body)).toEqual(Array(4).fill(V2_BODY));
  });

  it("answers 503 when no replica is ready, or the deployment is stopped", async () => {
    const empty = await seedDeployment({ name: "gw-empty", model: "iris" });
    await empty.addReplica({ endpoint: a.url, phase: "STARTING" });
    const response = await infer("gw-empty");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: "unavailable", message: expect.stringContaining("no ready replica") } });

    const stopped = await seedDeployment({ name: "gw-stopped", model: "iris", desiredState: "STOPPED" });
    await stopped.addReplica({ endpoint: a.url });
    const answer = await infer("gw-stopped");
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toContain("stopped");
  });

  it("keeps the client's connection across 503s when the unread body is small, and closes it for a large one", async () => {
    const pending = await seedDeployment({ name: "gw-pending", model: "iris" });
    await pending.addReplica({ endpoint: a.url, phase: "STARTING" });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      new Promise<{ status: number; socket: unknown; connection: string | undefined }>((resolve, reject) => {
        const req = http.request(`${base}/api/v1/infer/gw-pending/v2/models/iris/infer`, { method: "POST", agent, headers: { authorization: `Bearer ${inferToken}`, "content-type": "application/json" } }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, socket: req.socket, connection: res.headers.connection }));
        });
        req.on("error", reject);
        req.end(body);
      });
    try {
      const first = await post(V2_BODY);
      const second = await post(V2_BODY);
      expect([first.status, second.status]).toEqual([503, 503]);
      expect(first.connection).toBe("keep-alive");
      expect(second.socket).toBe(first.socket); // the same connection, its unread body dropped by the server
      const large = await post(JSON.stringify({ inputs: [], pad: "x".repeat(128 * 1024) }));
      expect(large.status).toBe(503);
      expect(large.connection).toBe("close");
    } finally {
      agent.destroy();
    }
  });

  it("answers 502 when every replica refuses, and 504 when a replica is too slow", async () => {
    const dead = await seedDeployment({ name: "gw-dead", model: "iris" });
    await dead.addReplica({ endpoint: await refusedEndpoint() });
    const refused = await infer("gw-dead");
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({ error: { code: "bad_gateway" } });

    const sluggish = await seedDeployment({ name: "gw-slow", model: "iris" });
    await sluggish.addReplica({ endpoint: slow.url });
    process.env.BERTH_INFERENCE_TIMEOUT_SECONDS = "1";
    reloadGatewaySettings();
    try {
      const started = Date.now();
      const response = await infer("gw-slow");
      expect(response.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(await response.json()).toMatchObject({ error: { code: "gateway_timeout" } });
    } finally {
      delete process.env.BERTH_INFERENCE_TIMEOUT_SECONDS;
      reloadGatewaySettings();
    }
  });

  it("refuses no token (401) and a token without inference access (403), auditing both as DENIED", async () => {
    const none = await infer("gw-iris", { token: null });
    expect(none.status).toBe(401);
    const plain = await infer("gw-iris", { token: plainToken });
    expect(plain.status).toBe(403);
    expect(((await plain.json()) as { error: { message: string } }).error.message).toContain("--infer");
    const bogus = await infer("gw-iris", { token: "berth_not-a-real-token" });
    expect(bogus.status).toBe(401);
    const denied = await (await auditLog()).findMany({ where: { action: "inference.request", outcome: "DENIED" }, orderBy: { seq: "desc" }, take: 3 });
    expect(denied.map((e) => (e.details as { reason: string }).reason).sort()).toEqual(["no_credentials", "token cannot infer", "unknown_token"]);
    expect(denied.find((e) => e.actorKind === "API_TOKEN")?.actorLabel).toContain("gw-plain");
    // Auth comes first: an unknown deployment is not revealed to an anonymous caller.
    expect((await infer("no-such-deployment", { token: null })).status).toBe(401);
  });

  it("lets a signed-in OPERATOR call it, and refuses a VIEWER's session", async () => {
    const password = "a long enough password";
    for (const [email, role] of [["gw-op@example.com", "OPERATOR"], ["gw-viewer@example.com", "VIEWER"]] as const) {
      await getDb().user.upsert({ where: { email }, update: {}, create: { email, name: email, role, passwordHash: await hashPassword(password) } });
    }
    const cookie = async (email: string) => {
      const session = await signIn({ email, password, request });
      const jwt = await encode({ token: { sid: session!.sessionId }, secret: process.env.NEXTAUTH_SECRET! });
      return `next-auth.session-token=${jwt}`;
    };
    const operator = await infer("gw-iris", { token: null, headers: { cookie: await cookie("gw-op@example.com") } });
    expect(operator.status).toBe(200);
    const viewer = await infer("gw-iris", { token: null, headers: { cookie: await cookie("gw-viewer@example.com") } });
    expect(viewer.status).toBe(403);
  });

  it("answers 404 for unknown deployments and paths the protocol does not offer, 405 for a wrong method", async () => {
    const unknown = await infer("no-such-deployment");
    expect(unknown.status).toBe(404);
    const wrongPath = await infer("gw-iris", { path: "v2/repository/index" });
    expect(wrongPath.status).toBe(404);
    expect(await wrongPath.json()).toMatchObject({ error: { code: "not_found", details: { protocol: "OPEN_INFERENCE_V2", allowed: expect.arrayContaining(["v2/models/{model}/infer"]) } } });
    expect((await infer("gw-iris", { path: "v1/chat/completions" })).status).toBe(404);
    expect((await infer("gw-iris", { path: "v2/models/../../etc/passwd" })).status).toBe(404);
    expect((await infer("gw-iris", { path: "v2/models/iris/infer", method: "GET" })).status).toBe(405);
    const ready = await infer("gw-iris", { path: "v2/health/ready", method: "GET" });
    expect(ready.status).toBe(200);
  });

  it("refuses a body over the limit with 413, declared or streamed", async () => {
    process.env.BERTH_INFERENCE_MAX_BODY_BYTES = "1024";
    reloadGatewaySettings();
    try {
      const declared = await infer("gw-iris", { body: JSON.stringify({ inputs: [], pad: "x".repeat(2048) }) });
      expect(declared.status).toBe(413);
      // No Content-Length: counted as it streams.
      const chunks = [Buffer.from('{"inputs":[],"pad":"'), Buffer.alloc(4096, "x"), Buffer.from('"}')];
      const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${base}/api/v1/infer/gw-iris/v2/models/iris/infer`, { method: "POST", headers: { authorization: `Bearer ${inferToken}`, "content-type": "application/json" } }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
      expect(streamed.status).toBe(413);
      expect(JSON.parse(streamed.body)).toMatchObject({ error: { code: "payload_too_large" } });
    } finally {
      delete process.env.BERTH_INFERENCE_MAX_BODY_BYTES;
      reloadGatewaySettings();
    }
  });

  it("writes access-log rows with status, latency and sizes, readable through the API and as CSV", async () => {
    const response = await infer("gw-iris", { headers: { "x-request-id": "gw-log-request-0001" } });
    const answer = await response.text();
    await new Promise((r) => setTimeout(r, 50));
    await flushInferenceLog();
    const row = await getDb().inferenceLogEntry.findFirst({ where: { requestId: "gw-log-request-0001" } });
    expect(row).toMatchObject({ deploymentName: "gw-iris", method: "POST", path: "/api/v1/infer/gw-iris/v2/models/iris/infer", status: 200, clientAddress: "127.0.0.1" });
    expect(row!.latencyMs).toBeGreaterThan(0);
    expect(Number(row!.requestBytes)).toBe(Buffer.byteLength(V2_BODY));
    expect(Number(row!.responseBytes)).toBe(Buffer.byteLength(answer));
    expect(row!.tokenLabel).toContain("gw-infer");
    expect(row!.replicaId).toBeTruthy();
    const statuses = await getDb().inferenceLogEntry.groupBy({ by: ["status"], where: { deploymentName: { startsWith: "gw-" } }, _count: true });
    expect(statuses.map((s) => s.status).sort()).toEqual(expect.arrayContaining([200, 404, 413, 502, 503, 504]));

    const api = (path: string, token = readToken) => new Request(`http://berth.test${path}`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "gw-log-api-0001" } });
    const route = { params: Promise.resolve({}) };
    const page1 = (await (await listInferenceLogRoute(api("/api/v1/inference-log?deployment=gw-iris&limit=2"), route)).json()) as { entries: { id: string; status: number }[]; nextCursor: string };
    expect(page1.entries).toHaveLength(2);
    expect(page1.nextCursor).toBe(page1.entries[1]!.id);
    const page2 = (await (await listInferenceLogRoute(api(`/api/v1/inference-log?deployment=gw-iris&limit=2&cursor=${page1.nextCursor}`), route)).json()) as { entries: { id: string }[] };
    expect(BigInt(page2.entries[0]!.id)).toBeLessThan(BigInt(page1.nextCursor));
    const errors = (await (await listInferenceLogRoute(api("/api/v1/inference-log?status=5xx&limit=500"), route)).json()) as { entries: { status: number }[] };
    expect(errors.entries.length).toBeGreaterThan(0);
    expect(errors.entries.every((e) => e.status >= 500)).toBe(true);
    expect((await listInferenceLogRoute(api("/api/v1/inference-log?status=abc"), route)).status).toBe(400);

    const csv = await exportInferenceLogRoute(api("/api/v1/inference-log/export.csv?deployment=gw-iris"), route);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("id,at,deployment,deploymentId,replicaId,tokenId,tokenLabel,clientAddress,method,path,status,latencyMs,requestBytes,responseBytes,requestId");
    expect(lines.length - 1).toBe(await getDb().inferenceLogEntry.count({ where: { deploymentName: "gw-iris" } }));
    expect(lines.some((l) => l.includes("gw-log-request-0001"))).toBe(true);
    const audit = await (await auditLog()).findFirst({ where: { action: "inference_log.export" }, orderBy: { seq: "desc" } });
    expect(audit).toMatchObject({ outcome: "SUCCESS", requestId: "gw-log-api-0001", targetLabel: "gw-iris" });
  });

  it("purges access-log rows past the retention", async () => {
    await getDb().inferenceLogEntry.create({
      data: { at: new Date(Date.now() - 40 * 86_400_000), deploymentId: "old", deploymentName: "gw-old", method: "POST", path: "/x", status: 200, latencyMs: 1, requestBytes: 0n, responseBytes: 0n },
    });
    expect(await purgeInferenceLog({ olderThanDays: 30 })).toBeGreaterThanOrEqual(1);
    expect(await getDb().inferenceLogEntry.count({ where: { deploymentName: "gw-old" } })).toBe(0);
    expect(await getDb().inferenceLogEntry.count({ where: { deploymentName: "gw-iris" } })).toBeGreaterThan(0);
  });

  it("logs one structured line per request whose request id is the one its audit event carries", async () => {
    const refused = await fetch(`${base}/api/metrics`, { headers: { "x-request-id": "trace-me-0001" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("x-request-id")).toBe("trace-me-0001");
    await expect.poll(() => accessLines.find((l) => l.requestId === "trace-me-0001")).toMatchObject({ method: "GET", path: "/api/metrics", status: 401, handler: "node" });
    const event = await (await auditLog()).findFirst({ where: { requestId: "trace-me-0001" } });
    expect(event).toMatchObject({ outcome: "DENIED", action: "api.request" });
  });

  it("exposes Prometheus series per deployment and recent windows, to a token with read", async () => {
    expect((await fetch(`${base}/api/metrics`)).status).toBe(401);
    const metrics = await fetch(`${base}/api/metrics`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    expect(text).toMatch(/berth_inference_requests_total\{deployment="gw-iris",code="200"\} \d+/);
    expect(text).toMatch(/berth_inference_errors_total\{deployment="gw-dead"\} [1-9]/);
    expect(text).toContain('berth_inference_request_duration_seconds_bucket{le="0.005",deployment="gw-iris"}');
    expect(text).toContain("berth_process_resident_memory_bytes");
    expect(text).toMatch(/berth_http_requests_total\{handler="node",code="4xx"\} [1-9]/);
    // What the database holds, read at scrape time.
    expect(text).toContain("berth_database_up 1");
    expect(text).toMatch(/berth_replicas\{deployment="gw-iris",phase="ready"\} [1-9]/);
    expect(text).toMatch(/berth_deployments\{desired_state="running"\} [1-9]/);
    expect(text).toMatch(/berth_servers\{state="online"\} \d+/);
    expect(text).toMatch(/berth_audit_head_seq [1-9]\d*/);
    expect(text).toMatch(/berth_db_pool_connections\{state="total"\} [1-9]/);

    const windows = await fetch(`${base}/api/v1/deployments/gw-iris/metrics`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(windows.status).toBe(200);
    const body = (await windows.json()) as { windowSeconds: number; buckets: { start: string; count: number; errors: number; p50: number | null; p99: number | null }[] };
    expect(body.windowSeconds).toBe(10);
    expect(body.buckets).toHaveLength(90);
    const total = body.buckets.reduce((sum, w) => sum + w.count, 0);
    expect(total).toBeGreaterThan(10);
    const busy = body.buckets.find((w) => w.count > 0)!;
    expect(busy.p50).toBeGreaterThan(0);
    expect(busy.p99!).toBeGreaterThanOrEqual(busy.p50!);
    expect((await fetch(`${base}/api/v1/deployments/nope/metrics`, { headers: { authorization: `Bearer ${readToken}` } })).status).toBe(404);
  });
});

describe("inference tokens", () => {
  it("stop working the moment they are revoked, despite the gateway's admission cache", async () => {
    const { token, secret } = await createApiToken({ actor: systemActor(), request, input: { name: "gw-revoke", role: "VIEWER", canInfer: true } });
    expect(token.canInfer).toBe(true);
    expect((await infer("gw-iris", { token: secret })).status).toBe(200);
    await revokeApiToken({ actor: systemActor(), request, tokenId: token.id });
    expect((await infer("gw-iris", { token: secret })).status).toBe(401);
  });

  it("follow their owner: a disabled owner's token is refused within the admission cache's second", async () => {
    const owner = await getDb().user.create({ data: { email: "gw-owner@example.com", name: "o", role: "OPERATOR", passwordHash: "x" } });
    const actor = { kind: "USER" as const, id: owner.id, label: owner.email, role: "OPERATOR" as const, userId: owner.id, sessionId: "00000000-0000-0000-0000-000000000000" };
    const { secret } = await createApiToken({ actor, request, input: { name: "gw-owned", role: "VIEWER", canInfer: true } });
    expect((await infer("gw-iris", { token: secret })).status).toBe(200);
    const used = await getDb().apiToken.findFirstOrThrow({ where: { name: "gw-owned" } });
    expect(used.lastUsedAt).not.toBeNull();
    await getDb().user.update({ where: { id: owner.id }, data: { disabledAt: new Date() } });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await infer("gw-iris", { token: secret })).status).toBe(401);
    const refusal = await (await auditLog()).findFirst({ where: { action: "inference.request", outcome: "DENIED" }, orderBy: { seq: "desc" } });
    expect(refusal?.details).toMatchObject({ reason: "owner_disabled" });
  });

  it("may be granted inference access only by a role that has it", async () => {
    const viewer = await getDb().user.create({ data: { email: "gw-grant@example.com", name: "v", role: "VIEWER", passwordHash: "x" } });
    const actor = { kind: "USER" as const, id: viewer.id, label: viewer.email, role: "VIEWER" as const, userId: viewer.id, sessionId: "00000000-0000-0000-0000-000000000000" };
    await expect(createApiToken({ actor, request, input: { name: "gw-nope", role: "VIEWER", canInfer: true } })).rejects.toMatchObject({ code: "forbidden" });
    await expect(createApiToken({ actor, request, input: { name: "gw-plain2", role: "VIEWER" } })).resolves.toMatchObject({ token: { canInfer: false } });
  });
});

describe("berth infer", () => {
  it("sends a whole V2 body and the shorthand through the gateway and prints the outputs", async () => {
    const lines: string[] = [];
    const connection = { url: base, token: inferToken };
    await runInfer(connection, "gw-iris", { input: V2_BODY, model: "iris" }, (t) => lines.push(t));
    expect(lines.join("")).toMatch(/^model iris\nlabel {2}INT64 \[1\]\n {2}[12]\ntag {2}BYTES \[1\]\n {2}[ab]\n$/);

    const json: string[] = [];
    const [seenA, seenB] = [a.seen.length, b.seen.length];
    await runInfer(connection, "gw-iris", { input: '{"input": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]}', model: "iris", json: true }, (t) => json.push(t));
    expect(JSON.parse(json.join(""))).toMatchObject({ model_name: "iris", outputs: [{ name: "label", shape: [2] }, { name: "tag" }] });
    const sent = [...a.seen.slice(seenA), ...b.seen.slice(seenB)];
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!.body)).toEqual({ inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.2, 2.9, 4.3, 1.3] }] });

    await expect(runInfer({ url: base, token: plainToken }, "gw-iris", { input: V2_BODY, model: "iris" }, () => {})).rejects.toThrow(/inference gateway.*\[forbidden\]/);
    // Without --model it needs GET /api/v1/deployments/{name} (Next, not served in this test).
    await expect(runInfer(connection, "gw-iris", { input: V2_BODY }, () => {})).rejects.toThrow(/pass --model/);
  });

  it("works as the real command (bin/berth.mjs)", async () => {
    const root = path.resolve(import.meta.dirname, "..");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["bin/berth.mjs", "--url", base, "--token", inferToken, "infer", "gw-iris", "--model", "iris", "--input", '{"input": [[5.1, 3.5, 1.4, 0.2]]}', "--raw"],
      { cwd: root, env: { ...process.env, BERTH_URL: "", BERTH_TOKEN: "" } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ model_name: "iris", outputs: [{ name: "label", datatype: "INT64", shape: [1] }, { name: "tag" }] });
  });
});
