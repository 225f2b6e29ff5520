import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect, test, type APIRequestContext, type PlaywrightWorkerArgs } from "@playwright/test";
import { API_SPECS } from "../../app/api/v1/api-specs";
import { can, PERMISSIONS } from "../../lib/auth/roles";
import { ADMIN, bearer, signInThroughApi, type AuditEvent } from "../fixtures";

/**
 * Audit coverage: every mutating operation in API_SPECS is called for real,
 * once as it should succeed and once as it should be refused, and each call
 * is matched to its audit event by request id (the `x-request-id` it sent).
 *
 * ROUTES holds every mutating operation, in the order the calls are made
 * (later routes use what earlier ones created). A success names the event it
 * must write; a route whose success deliberately writes none is also in
 * EXEMPT_ON_SUCCESS with the reason, and its success must then write nothing.
 * Every refusal must write an event under the spec's own `action`, DENIED
 * (401/403) unless the entry says otherwise. A mutating route missing from
 * ROUTES, or an entry naming a route that no longer exists, fails the test.
 */

const MUTATING = new Set(["post", "put", "patch", "delete"]);
const keyOf = (spec: { method: string; path: string }) => `${spec.method.toUpperCase()} ${spec.path}`;
const MUTATING_SPECS = new Map(API_SPECS.filter((s) => MUTATING.has(s.method)).map((s) => [keyOf(s), s]));

const samples = path.resolve(import.meta.dirname, "../../samples/iris");
const irisV1 = readFileSync(path.join(samples, "iris-v1.onnx"));
const irisV2 = readFileSync(path.join(samples, "iris-v2.onnx"));
const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
// The gateway refuses a caller before it knows which of its paths was asked for.
const GATEWAY_ROUTE = "POST /api/v1/infer/{deployment}/{path}";

type Outcome = "SUCCESS" | "FAILURE" | "DENIED";
/** Who made a call, as the audit log should name them. */
type Who = { kind: string; label: string };
type Caller = Who & { request: APIRequestContext; headers: Record<string, string> };
type Sent = { requestId: string; status: number; text: string; headers: Record<string, string> };
/** `targetLabel` undefined: not checked. */
type Expected = { action: string; actor: Who; outcome: Outcome; targetLabel?: string | null };

type Success = {
  sent: Sent;
  status: number;
  /** The event the call must write; absent only for routes in EXEMPT_ON_SUCCESS. */
  event?: Expected;
};
/** A refusal is recorded under the spec's action, DENIED, naming the route it refused, unless said otherwise. */
type Refusal = { sent: Sent; status: number; by: Who; outcome?: Outcome; targetLabel?: string | null };
type Route = { success: (w: World) => Promise<Success>; refusal: (w: World) => Promise<Refusal | Refusal[]> };

type World = {
  stamp: string;
  baseURL: string;
  adminUser: Caller;
  admin: Caller;
  operator: Caller;
  viewer: Caller;
  anonymous: Caller;
  infer: Caller;
  /** An ADMIN token minted on the host (owned by no user): a stranger to the other callers' uploads. */
  stranger: Caller;
  stubUrl: string;
  model: string;
  tokenId: string;
  uploadPath: string;
  runtime: string;
  webhook: string;
  server: string;
  enrolmentToken: string;
  credential: string;
  hostname: string;
  deployment: string;
  openaiDeployment: string;
};

let requestCounter = 0;

/** One call, stamped with a request id of our own; the server must echo it. */
async function send(who: Caller, method: string, url: string, options: { data?: unknown; headers?: Record<string, string> } = {}): Promise<Sent> {
  const requestId = `cov-${process.pid}-${Date.now().toString(36)}-${++requestCounter}`;
  const response = await who.request.fetch(url, { method, headers: { ...who.headers, ...options.headers, "x-request-id": requestId }, data: options.data });
  expect(response.headers()["x-request-id"], `${method} ${url} echoes its request id`).toBe(requestId);
  return { requestId, status: response.status(), text: await response.text(), headers: response.headers() };
}

const json = <T>(sent: Sent): T => JSON.parse(sent.text) as T;
const by = (who: Who, action: string, targetLabel?: string): Expected => ({ action, actor: { kind: who.kind, label: who.label }, outcome: "SUCCESS", targetLabel });
const agentOf = (w: World): Caller => ({ ...w.anonymous, headers: bearer(w.credential), kind: "AGENT", label: `agent on ${w.server}` });
const badAgent = (w: World): Caller => ({ ...w.anonymous, headers: bearer(`berth_agent_${"x".repeat(43)}`) });

const inventory = (hostname: string) => ({
  hostname,
  os: { platform: "linux", release: "6.1", kernel: "#1 SMP", arch: "x64" },
  cpu: { model: "coverage cpu", cores: 4 },
  memory: { totalBytes: 8e9, freeBytes: 4e9 },
  disk: null,
  docker: { available: true, version: "27.0", apiVersion: "1.47", error: null },
  gpus: [],
  agentVersion: "coverage",
  containers: [],
});

const tusHeaders = { "tus-resumable": "1.0.0" };
const tusMetadata = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k} ${Buffer.from(v).toString("base64")}`).join(",");
const createUpload = (who: Caller, model: string, bytes: Buffer) =>
  send(who, "POST", "/api/v1/uploads", {
    headers: { ...tusHeaders, "upload-length": String(bytes.length), "upload-metadata": tusMetadata({ model, format: "onnx", filename: "iris-v2.onnx" }) },
  });
const uploadPathOf = (sent: Sent) => {
  const location = sent.headers.location ?? "";
  return location.startsWith("http") ? new URL(location).pathname : location;
};

const runtimeBody = (name: string, protocol: "openai" | "open_inference_v2") => ({
  name,
  image: "registry.example.com/coverage/runtime:1",
  containerPort: 8080,
  readinessPath: "/health",
  protocol,
  modelMountPath: "/models",
  supportedFormats: ["onnx"],
});

const inferBody = { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] };
const openaiBody = { model: "iris", messages: [{ role: "user", content: "hello" }], input: "hello", prompt: "hello" };

const EXEMPT_ON_SUCCESS: Record<string, string> = {
  "POST /api/v1/agent/heartbeat": "every agent, every few seconds: a heartbeat changes nothing worth an event; the transitions it causes (server.online) are events",
  "POST /api/v1/agent/status": "replica phases reported by the agent on every change: they go to the deployment's timeline; a failed replica writes deployment.replica_failed",
  "POST /api/v1/infer/{deployment}/v2/models/{model}/infer": "inference calls go to the inference access log (one row per request), not the audit log",
  "POST /api/v1/infer/{deployment}/v1/chat/completions": "inference calls go to the inference access log, not the audit log",
  "POST /api/v1/infer/{deployment}/v1/completions": "inference calls go to the inference access log, not the audit log",
  "POST /api/v1/infer/{deployment}/v1/embeddings": "inference calls go to the inference access log, not the audit log",
};

const ROUTES: Record<string, Route> = {
  "POST /api/setup": {
    // The one success happened in first-run.spec.ts (the setup project), through the setup page.
    success: async () => ({ sent: { requestId: "", status: 201, text: "", headers: {} }, status: 201, event: { action: "user.create", actor: { kind: "ANONYMOUS", label: "first-run setup page" }, outcome: "SUCCESS", targetLabel: ADMIN.email } }),
    // Public: nobody's credentials are refused; setup is closed, so the call is a refused mutation (409), a FAILURE.
    refusal: async (w) => ({
      sent: await send(w.anonymous, "POST", "/api/setup", { data: { email: `intruder-${w.stamp}@berth.test`, name: "Intruder", password: "another long password" } }),
      status: 409,
      by: w.anonymous,
      outcome: "FAILURE",
    }),
  },
  "POST /api/v1/tokens": {
    success: async (w) => {
      const sent = await send(w.adminUser, "POST", "/api/v1/tokens", { data: { name: `cov-token-${w.stamp}`, role: "VIEWER" } });
      w.tokenId = json<{ token: { id: string } }>(sent).token?.id ?? ZERO_UUID;
      return { sent, status: 201, event: by(w.adminUser, "token.create", `cov-token-${w.stamp}`) };
    },
    refusal: async (w) => ({ sent: await send(w.anonymous, "POST", "/api/v1/tokens", { data: { name: "nope", role: "ADMIN" } }), status: 401, by: w.anonymous }),
  },
  "DELETE /api/v1/tokens/{id}": {
    success: async (w) => ({ sent: await send(w.admin, "DELETE", `/api/v1/tokens/${w.tokenId}`), status: 200, event: by(w.admin, "token.revoke", `cov-token-${w.stamp}`) }),
    refusal: async (w) => ({ sent: await send(w.anonymous, "DELETE", `/api/v1/tokens/${w.tokenId}`), status: 401, by: w.anonymous }),
  },
  "POST /api/v1/models": {
    success: async (w) => ({ sent: await send(w.operator, "POST", "/api/v1/models", { data: { name: w.model, task: "classification" } }), status: 201, event: by(w.operator, "model.create", w.model) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", "/api/v1/models", { data: { name: `${w.model}-x` } }), status: 403, by: w.viewer }),
  },
  "PATCH /api/v1/models/{name}": {
    success: async (w) => ({ sent: await send(w.operator, "PATCH", `/api/v1/models/${w.model}`, { data: { description: "audit coverage" } }), status: 200, event: by(w.operator, "model.update", w.model) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "PATCH", `/api/v1/models/${w.model}`, { data: { description: "no" } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/models/{name}/versions": {
    success: async (w) => ({
      sent: await send(w.operator, "POST", `/api/v1/models/${w.model}/versions?format=onnx&fileName=iris-v1.onnx`, { headers: { "content-type": "application/octet-stream" }, data: irisV1 }),
      status: 201,
      event: by(w.operator, "version.upload", `${w.model}@1`),
    }),
    refusal: async (w) => ({
      sent: await send(w.viewer, "POST", `/api/v1/models/${w.model}/versions?format=onnx`, { headers: { "content-type": "application/octet-stream" }, data: irisV1 }),
      status: 403,
      by: w.viewer,
    }),
  },
  "PATCH /api/v1/models/{name}/versions/{version}": {
    success: async (w) => ({ sent: await send(w.operator, "PATCH", `/api/v1/models/${w.model}/versions/1`, { data: { stage: "staging" } }), status: 200, event: by(w.operator, "version.stage", `${w.model}@1`) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "PATCH", `/api/v1/models/${w.model}/versions/1`, { data: { stage: "production" } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/uploads": {
    success: async (w) => {
      const sent = await createUpload(w.operator, w.model, irisV2);
      w.uploadPath = uploadPathOf(sent);
      return { sent, status: 201, event: by(w.operator, "version.upload_start", w.model) };
    },
    refusal: async (w) => ({ sent: await createUpload(w.viewer, w.model, irisV2), status: 403, by: w.viewer }),
  },
  "PATCH /api/v1/uploads/{id}": {
    success: async (w) => ({
      sent: await send(w.operator, "PATCH", w.uploadPath, { headers: { ...tusHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, data: irisV2 }),
      status: 200,
      event: by(w.operator, "version.upload", `${w.model}@2`),
    }),
    refusal: async (w) => ({
      sent: await send(w.viewer, "PATCH", w.uploadPath, { headers: { ...tusHeaders, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, data: irisV2 }),
      status: 403,
      by: w.viewer,
    }),
  },
  "DELETE /api/v1/uploads/{id}": {
    success: async (w) => {
      w.uploadPath = uploadPathOf(await createUpload(w.operator, w.model, irisV2));
      return { sent: await send(w.operator, "DELETE", w.uploadPath, { headers: tusHeaders }), status: 204, event: by(w.operator, "version.upload_cancel", w.model) };
    },
    refusal: async (w) => {
      const pending = uploadPathOf(await createUpload(w.operator, w.model, irisV2));
      const refusals: Refusal[] = [
        { sent: await send(w.viewer, "DELETE", pending, { headers: tusHeaders }), status: 403, by: w.viewer },
        // Someone else's upload is refused as if missing (404): a refused mutation, so a FAILURE.
        { sent: await send(w.stranger, "DELETE", pending, { headers: tusHeaders }), status: 404, by: w.stranger, outcome: "FAILURE" },
      ];
      expect((await send(w.operator, "DELETE", pending, { headers: tusHeaders })).status).toBe(204);
      return refusals;
    },
  },
  "POST /api/v1/runtimes": {
    success: async (w) => ({ sent: await send(w.admin, "POST", "/api/v1/runtimes", { data: runtimeBody(w.runtime, "openai") }), status: 201, event: by(w.admin, "runtime.create", w.runtime) }),
    // OPERATOR runs deployments but does not manage the fleet's runtimes.
    refusal: async (w) => ({ sent: await send(w.operator, "POST", "/api/v1/runtimes", { data: runtimeBody(`${w.runtime}-x`, "openai") }), status: 403, by: w.operator }),
  },
  "PATCH /api/v1/runtimes/{name}": {
    success: async (w) => ({ sent: await send(w.admin, "PATCH", `/api/v1/runtimes/${w.runtime}`, { data: { description: "audit coverage" } }), status: 200, event: by(w.admin, "runtime.update", w.runtime) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "PATCH", `/api/v1/runtimes/${w.runtime}`, { data: { description: "no" } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/webhooks": {
    success: async (w) => ({
      sent: await send(w.admin, "POST", "/api/v1/webhooks", { data: { name: w.webhook, url: `${w.stubUrl}/hook`, events: ["server.offline"] } }),
      status: 201,
      event: by(w.admin, "webhook.create", w.webhook),
    }),
    // Webhooks carry signing secrets and reach out of the network: ADMIN only.
    refusal: async (w) => ({ sent: await send(w.operator, "POST", "/api/v1/webhooks", { data: { name: `${w.webhook}-x`, url: `${w.stubUrl}/x`, events: ["server.offline"] } }), status: 403, by: w.operator }),
  },
  "PATCH /api/v1/webhooks/{name}": {
    success: async (w) => ({ sent: await send(w.admin, "PATCH", `/api/v1/webhooks/${w.webhook}`, { data: { events: ["server.offline", "replica.failed"] } }), status: 200, event: by(w.admin, "webhook.update", w.webhook) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "PATCH", `/api/v1/webhooks/${w.webhook}`, { data: { enabled: false } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/webhooks/{name}/test": {
    success: async (w) => ({ sent: await send(w.admin, "POST", `/api/v1/webhooks/${w.webhook}/test`), status: 202, event: by(w.admin, "webhook.test", w.webhook) }),
    refusal: async (w) => ({ sent: await send(w.operator, "POST", `/api/v1/webhooks/${w.webhook}/test`), status: 403, by: w.operator }),
  },
  "DELETE /api/v1/webhooks/{name}": {
    success: async (w) => ({ sent: await send(w.admin, "DELETE", `/api/v1/webhooks/${w.webhook}`), status: 200, event: by(w.admin, "webhook.delete", w.webhook) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/webhooks/${w.webhook}`), status: 403, by: w.viewer }),
  },
  "POST /api/v1/servers": {
    success: async (w) => {
      const sent = await send(w.adminUser, "POST", "/api/v1/servers", { data: { name: w.server, labels: { purpose: "audit-coverage" } } });
      w.enrolmentToken = json<{ enrolmentToken: string }>(sent).enrolmentToken;
      return { sent, status: 201, event: by(w.adminUser, "server.add", w.server) };
    },
    refusal: async (w) => ({ sent: await send(w.operator, "POST", "/api/v1/servers", { data: { name: `${w.server}-x` } }), status: 403, by: w.operator }),
  },
  "POST /api/v1/servers/{name}/enrolment-token": {
    success: async (w) => {
      const sent = await send(w.admin, "POST", `/api/v1/servers/${w.server}/enrolment-token`, { data: { ttlMinutes: 30 } });
      w.enrolmentToken = json<{ enrolmentToken: string }>(sent).enrolmentToken;
      return { sent, status: 201, event: by(w.admin, "server.enrolment_token", w.server) };
    },
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/servers/${w.server}/enrolment-token`, { data: {} }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/agent/enrol": {
    success: async (w) => {
      const sent = await send(w.anonymous, "POST", "/api/v1/agent/enrol", { data: { token: w.enrolmentToken, inventory: inventory(w.hostname) } });
      w.credential = json<{ credential: string }>(sent).credential;
      return { sent, status: 201, event: by(agentOf(w), "server.enrol", w.server) };
    },
    // The token has just been used: a second enrolment with it is refused.
    refusal: async (w) => ({
      sent: await send(w.anonymous, "POST", "/api/v1/agent/enrol", { data: { token: w.enrolmentToken, inventory: inventory(w.hostname) } }),
      status: 401,
      by: { kind: "ANONYMOUS", label: `host ${w.hostname}` },
      // A used token names no server any more.
      targetLabel: null,
    }),
  },
  "POST /api/v1/agent/heartbeat": {
    success: async (w) => ({ sent: await send(agentOf(w), "POST", "/api/v1/agent/heartbeat", { data: { inventory: inventory(w.hostname), observedGeneration: null } }), status: 200 }),
    refusal: async (w) => ({ sent: await send(badAgent(w), "POST", "/api/v1/agent/heartbeat", { data: { inventory: inventory(w.hostname), observedGeneration: null } }), status: 401, by: w.anonymous }),
  },
  "POST /api/v1/servers/{name}/rotate-credential": {
    success: async (w) => ({ sent: await send(w.admin, "POST", `/api/v1/servers/${w.server}/rotate-credential`), status: 200, event: by(w.admin, "server.credential_rotation_requested", w.server) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/servers/${w.server}/rotate-credential`), status: 403, by: w.viewer }),
  },
  "POST /api/v1/agent/credential": {
    success: async (w) => {
      const agent = agentOf(w);
      const sent = await send(agent, "POST", "/api/v1/agent/credential");
      w.credential = json<{ credential: string }>(sent).credential;
      return { sent, status: 200, event: by(agent, "server.credential_rotate", w.server) };
    },
    refusal: async (w) => ({ sent: await send(badAgent(w), "POST", "/api/v1/agent/credential"), status: 401, by: w.anonymous }),
  },
  "POST /api/v1/deployments": {
    success: async (w) => {
      // A second deployment, on the OpenAI-protocol runtime, for the OpenAI gateway routes.
      const openai = await send(w.operator, "POST", "/api/v1/deployments", { data: { name: w.openaiDeployment, model: `${w.model}@1`, runtime: w.runtime, servers: [w.server], replicas: 1 } });
      expect(openai.status, openai.text).toBe(201);
      return {
        sent: await send(w.operator, "POST", "/api/v1/deployments", { data: { name: w.deployment, model: `${w.model}@1`, servers: [w.server], replicas: 1 } }),
        status: 201,
        event: by(w.operator, "deployment.create", w.deployment),
      };
    },
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", "/api/v1/deployments", { data: { name: `${w.deployment}-x`, model: `${w.model}@1`, servers: [w.server] } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/agent/status": {
    // The agent reports both deployments' replicas ready, answering at the stub runtime.
    success: async (w) => {
      const agent = agentOf(w);
      const desired = await send(agent, "GET", "/api/v1/agent/desired-state");
      const { generation, workloads } = json<{ generation: number; workloads: { replicaId: string; deploymentId: string; generation: number }[] }>(desired);
      const replicas = workloads.map((workload, i) => ({
        replicaId: workload.replicaId,
        deploymentId: workload.deploymentId,
        phase: "ready",
        containerId: `coverage-container-${w.stamp}-${i}`,
        endpoint: w.stubUrl,
        hostPort: Number(new URL(w.stubUrl).port),
        restartCount: 0,
        message: null,
        observedGeneration: workload.generation,
        progress: null,
        logTail: null,
      }));
      expect(replicas).toHaveLength(2);
      return { sent: await send(agent, "POST", "/api/v1/agent/status", { data: { observedGeneration: generation, replicas } }), status: 200 };
    },
    refusal: async (w) => ({ sent: await send(badAgent(w), "POST", "/api/v1/agent/status", { data: { observedGeneration: null, replicas: [] } }), status: 401, by: w.anonymous }),
  },
  "POST /api/v1/infer/{deployment}/v2/models/{model}/infer": {
    success: async (w) => ({ sent: await send(w.infer, "POST", `/api/v1/infer/${w.deployment}/v2/models/${w.model}/infer`, { data: inferBody }), status: 200 }),
    // A token without inference access.
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/infer/${w.deployment}/v2/models/${w.model}/infer`, { data: inferBody }), status: 403, by: w.viewer, targetLabel: GATEWAY_ROUTE }),
  },
  "POST /api/v1/infer/{deployment}/v1/chat/completions": {
    success: async (w) => ({ sent: await send(w.infer, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/chat/completions`, { data: openaiBody }), status: 200 }),
    refusal: async (w) => ({ sent: await send(w.anonymous, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/chat/completions`, { data: openaiBody }), status: 401, by: w.anonymous, targetLabel: GATEWAY_ROUTE }),
  },
  "POST /api/v1/infer/{deployment}/v1/completions": {
    success: async (w) => ({ sent: await send(w.infer, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/completions`, { data: openaiBody }), status: 200 }),
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/completions`, { data: openaiBody }), status: 403, by: w.viewer, targetLabel: GATEWAY_ROUTE }),
  },
  "POST /api/v1/infer/{deployment}/v1/embeddings": {
    success: async (w) => ({ sent: await send(w.infer, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/embeddings`, { data: openaiBody }), status: 200 }),
    refusal: async (w) => ({ sent: await send(w.anonymous, "POST", `/api/v1/infer/${w.openaiDeployment}/v1/embeddings`, { data: openaiBody }), status: 401, by: w.anonymous, targetLabel: GATEWAY_ROUTE }),
  },
  "PATCH /api/v1/deployments/{name}": {
    success: async (w) => ({ sent: await send(w.operator, "PATCH", `/api/v1/deployments/${w.deployment}`, { data: { env: { COVERAGE: "1" } } }), status: 200, event: by(w.operator, "deployment.update", w.deployment) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "PATCH", `/api/v1/deployments/${w.deployment}`, { data: { replicas: 3 } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/deployments/{name}/actions": {
    success: async (w) => ({ sent: await send(w.operator, "POST", `/api/v1/deployments/${w.deployment}/actions`, { data: { action: "stop" } }), status: 200, event: by(w.operator, "deployment.stop", w.deployment) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/deployments/${w.deployment}/actions`, { data: { action: "start" } }), status: 403, by: w.viewer }),
  },
  "DELETE /api/v1/deployments/{name}": {
    success: async (w) => ({ sent: await send(w.operator, "DELETE", `/api/v1/deployments/${w.deployment}`), status: 202, event: by(w.operator, "deployment.delete", w.deployment) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/deployments/${w.openaiDeployment}`), status: 403, by: w.viewer }),
  },
  "DELETE /api/v1/models/{name}/versions/{version}": {
    // Version 2 (the resumable upload) runs nowhere.
    success: async (w) => ({ sent: await send(w.operator, "DELETE", `/api/v1/models/${w.model}/versions/2`), status: 200, event: by(w.operator, "version.delete", `${w.model}@2`) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/models/${w.model}/versions/1`), status: 403, by: w.viewer }),
  },
  "DELETE /api/v1/models/{name}": {
    success: async (w) => {
      const spare = `${w.model}-spare`;
      expect((await send(w.operator, "POST", "/api/v1/models", { data: { name: spare } })).status).toBe(201);
      return { sent: await send(w.operator, "DELETE", `/api/v1/models/${spare}`), status: 200, event: by(w.operator, "model.delete", spare) };
    },
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/models/${w.model}`), status: 403, by: w.viewer }),
  },
  "DELETE /api/v1/runtimes/{name}": {
    success: async (w) => {
      const spare = `${w.runtime}-spare`;
      expect((await send(w.admin, "POST", "/api/v1/runtimes", { data: runtimeBody(spare, "open_inference_v2") })).status).toBe(201);
      return { sent: await send(w.admin, "DELETE", `/api/v1/runtimes/${spare}`), status: 200, event: by(w.admin, "runtime.delete", spare) };
    },
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/runtimes/${w.runtime}`), status: 403, by: w.viewer }),
  },
  "POST /api/v1/servers/{name}/actions": {
    success: async (w) => ({ sent: await send(w.admin, "POST", `/api/v1/servers/${w.server}/actions`, { data: { action: "drain" } }), status: 200, event: by(w.admin, "server.drain", w.server) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "POST", `/api/v1/servers/${w.server}/actions`, { data: { action: "disable" } }), status: 403, by: w.viewer }),
  },
  "POST /api/v1/audit/purge": {
    // Nothing in a fresh install is a year old: the purge deletes nothing, and is still on the record.
    success: async (w) => ({ sent: await send(w.admin, "POST", "/api/v1/audit/purge", { data: { before: "2020-01-01T00:00:00Z" } }), status: 200, event: by(w.admin, "audit.purge", "audit log") }),
    refusal: async (w) => ({ sent: await send(w.operator, "POST", "/api/v1/audit/purge", { data: { before: "2020-01-01T00:00:00Z" } }), status: 403, by: w.operator }),
  },
  "DELETE /api/v1/servers/{name}": {
    success: async (w) => ({ sent: await send(w.adminUser, "DELETE", `/api/v1/servers/${w.server}`), status: 200, event: by(w.adminUser, "server.remove", w.server) }),
    refusal: async (w) => ({ sent: await send(w.viewer, "DELETE", `/api/v1/servers/${w.server}`), status: 403, by: w.viewer }),
  },
};

/** The whole audit log, newest first, through the API (keyset paging with `before`). */
async function readAuditLog(reader: Caller): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let before: string | null = null;
  do {
    const response = await reader.request.get(`/api/v1/audit/events?limit=500${before ? `&before=${before}` : ""}`, { headers: reader.headers });
    expect(response.status()).toBe(200);
    const page = (await response.json()) as { events: AuditEvent[]; nextBefore: string | null };
    events.push(...page.events);
    before = page.nextBefore;
  } while (before);
  return events;
}

async function tokenCaller(playwright: PlaywrightWorkerArgs["playwright"], baseURL: string, minter: APIRequestContext, role: string, name: string, extra: Record<string, unknown> = {}): Promise<Caller> {
  const created = await minter.post("/api/v1/tokens", { data: { name, role, ...extra } });
  expect(created.status(), await created.text()).toBe(201);
  return callerWith(playwright, baseURL, ((await created.json()) as { secret: string }).secret);
}

/** A token minted on the control-plane host (`berth admin create-token`): a SYSTEM token, owned by no user. */
function hostToken(name: string): string {
  const env = { ...process.env, BERTH_DATA_DIR: process.env.BERTH_E2E_DATA_DIR! };
  return execFileSync("node", ["bin/berth.mjs", "admin", "create-token", "--name", name, "--role", "ADMIN"], { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
}

async function callerWith(playwright: PlaywrightWorkerArgs["playwright"], baseURL: string, secret: string): Promise<Caller> {
  const request = await playwright.request.newContext({ baseURL });
  const me = (await (await request.get("/api/v1/me", { headers: bearer(secret) })).json()) as { kind: string; label: string };
  return { request, headers: bearer(secret), kind: me.kind, label: me.label };
}

/** Answers every request with 200 and a small JSON body: the "runtime" behind the gateway. */
async function startStubRuntime(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ stub: true, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("every mutating API route writes its audit event (action, actor, outcome, target), and every refusal writes one too", async ({ request, playwright, baseURL }) => {
  // The tables and API_SPECS must agree before anything is called.
  const mutating = [...MUTATING_SPECS.keys()].sort();
  expect(mutating.filter((key) => !(key in ROUTES)), "mutating routes with no entry in ROUTES: add one (with the event it writes)").toEqual([]);
  expect(Object.keys(ROUTES).filter((key) => !MUTATING_SPECS.has(key)), "ROUTES entries naming no mutating route in API_SPECS").toEqual([]);
  expect(Object.keys(EXEMPT_ON_SUCCESS).filter((key) => !MUTATING_SPECS.has(key)), "EXEMPT_ON_SUCCESS entries naming no mutating route").toEqual([]);
  expect(mutating.filter((key) => !MUTATING_SPECS.get(key)!.action), "mutating specs with no audit action for their refusals").toEqual([]);

  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  await signInThroughApi(request);
  const stub = await startStubRuntime();
  const anonymousContext = await playwright.request.newContext({ baseURL });
  const w: World = {
    stamp,
    baseURL: baseURL!,
    adminUser: { request, headers: {}, kind: "USER", label: ADMIN.email },
    admin: await tokenCaller(playwright, baseURL!, request, "ADMIN", `cov-admin-${stamp}`),
    operator: await tokenCaller(playwright, baseURL!, request, "OPERATOR", `cov-operator-${stamp}`),
    viewer: await tokenCaller(playwright, baseURL!, request, "VIEWER", `cov-viewer-${stamp}`),
    infer: await tokenCaller(playwright, baseURL!, request, "VIEWER", `cov-infer-${stamp}`, { canInfer: true }),
    anonymous: { request: anonymousContext, headers: {}, kind: "ANONYMOUS", label: "anonymous" },
    stranger: await callerWith(playwright, baseURL!, hostToken(`cov-stranger-${stamp}`)),
    stubUrl: stub.url,
    model: `cov-model-${stamp}`,
    tokenId: ZERO_UUID,
    uploadPath: "/api/v1/uploads/none",
    runtime: `cov-runtime-${stamp}`,
    webhook: `cov-hook-${stamp}`,
    server: `cov-server-${stamp}`,
    enrolmentToken: "",
    credential: "",
    hostname: `cov-host-${stamp}`,
    deployment: `cov-v2-${stamp}`,
    openaiDeployment: `cov-openai-${stamp}`,
  };
  // The fake agent keeps its server online (the e2e server marks it offline after 4 s of silence).
  const heartbeats = setInterval(() => {
    if (!w.credential) return;
    void fetch(`${w.baseURL}/api/v1/agent/heartbeat`, {
      method: "POST",
      headers: { ...bearer(w.credential), "content-type": "application/json" },
      body: JSON.stringify({ inventory: inventory(w.hostname), observedGeneration: null }),
    }).catch(() => {});
  }, 1000);

  type Made = { key: string; what: "success" | "refusal"; sent: Sent; status: number; event?: Expected };
  const made: Made[] = [];
  const problems: string[] = [];
  const started = Date.now();
  try {
    for (const [key, route] of Object.entries(ROUTES)) {
      const spec = MUTATING_SPECS.get(key);
      if (!spec) continue;
      try {
        const success = await route.success(w);
        if (key in EXEMPT_ON_SUCCESS && success.event) problems.push(`${key}: exempt on success, yet its entry names an event`);
        if (!(key in EXEMPT_ON_SUCCESS) && !success.event) problems.push(`${key}: its success names no event and it is not in EXEMPT_ON_SUCCESS`);
        made.push({ key, what: "success", ...success });
      } catch (error) {
        problems.push(`${key} success: ${String(error)}`);
      }
      try {
        for (const refusal of [await route.refusal(w)].flat()) {
          const event = { action: spec.action!, actor: refusal.by, outcome: refusal.outcome ?? "DENIED", targetLabel: refusal.targetLabel === undefined ? key : refusal.targetLabel };
          made.push({ key, what: "refusal", sent: refusal.sent, status: refusal.status, event });
        }
      } catch (error) {
        problems.push(`${key} refusal: ${String(error)}`);
      }
    }
    test.info().annotations.push({ type: "calls", description: `${made.length} calls in ${Date.now() - started} ms` });

    const log = await readAuditLog(w.admin);
    const byRequest = new Map<string, AuditEvent[]>();
    for (const event of log) if (event.requestId) byRequest.set(event.requestId, [...(byRequest.get(event.requestId) ?? []), event]);

    for (const call of made) {
      const name = `${call.key} (${call.what})`;
      if (call.sent.status !== call.status) problems.push(`${name}: HTTP ${call.sent.status}, expected ${call.status}: ${call.sent.text.slice(0, 300)}`);
      const expected = call.event;
      if (!expected) {
        const written = byRequest.get(call.sent.requestId) ?? [];
        if (written.length > 0) problems.push(`${name}: exempt (${EXEMPT_ON_SUCCESS[call.key]}), yet wrote ${written.map((e) => `${e.action}/${e.outcome}`).join(", ")}`);
        continue;
      }
      // The setup page's success predates this test: found by what it wrote, and it must carry a request id.
      const candidates = call.sent.requestId
        ? (byRequest.get(call.sent.requestId) ?? [])
        : log.filter((e) => e.action === expected.action && e.actorLabel === expected.actor.label && e.targetLabel === expected.targetLabel && e.requestId);
      const event = candidates.find((e) => e.action === expected.action);
      if (!event) {
        problems.push(`${name}: no ${expected.action} event for request ${call.sent.requestId || "(setup)"}; it wrote ${candidates.map((e) => `${e.action}/${e.outcome}`).join(", ") || "nothing"}`);
        continue;
      }
      const got = { actorKind: event.actorKind, actorLabel: event.actorLabel, outcome: event.outcome, ...(expected.targetLabel === undefined ? {} : { targetLabel: event.targetLabel }) };
      const want = { actorKind: expected.actor.kind, actorLabel: expected.actor.label, outcome: expected.outcome, ...(expected.targetLabel === undefined ? {} : { targetLabel: expected.targetLabel }) };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${name}: ${expected.action} event is ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }

    // The exempt inference calls are in the inference access log instead (written about a second later).
    const inferred = made.filter((call) => call.what === "success" && call.key.startsWith("POST /api/v1/infer/")).map((call) => call.sent.requestId);
    const accessLogged = async () => {
      const ids = new Set<string | null>();
      for (const deployment of [w.deployment, w.openaiDeployment]) {
        const response = await w.admin.request.get(`/api/v1/inference-log?limit=100&deployment=${deployment}`, { headers: w.admin.headers });
        for (const entry of ((await response.json()) as { entries: { requestId: string | null }[] }).entries) ids.add(entry.requestId);
      }
      return inferred.filter((id) => !ids.has(id));
    };
    await expect.poll(accessLogged, { timeout: 10_000, message: "inference calls missing from the inference access log" }).toEqual([]);

    expect(problems, problems.join("\n")).toEqual([]);
  } finally {
    clearInterval(heartbeats);
    // Nothing ran in Docker (the agent was this test). Deleting deployments and then the server leaves no rows behind.
    for (const deployment of [w.deployment, w.openaiDeployment]) await request.delete(`/api/v1/deployments/${deployment}`).catch(() => {});
    await request.delete(`/api/v1/servers/${w.server}`).catch(() => {});
    await stub.close();
    for (const caller of [w.admin, w.operator, w.viewer, w.infer, w.stranger, w.anonymous]) await caller.request.dispose();
  }
});

// Permissions a role may hold besides reading and still change something: its own API tokens (create, revoke).
const SELF_SERVICE = new Set(["tokens.own"]);

test("roles: AUDITOR reads the audit log and is refused every change but its own tokens; VIEWER and OPERATOR may not read the log; every refusal is audited DENIED", async ({ request, playwright, baseURL }) => {
  await signInThroughApi(request);
  const stamp = Date.now().toString(36);
  const callers = Object.fromEntries(
    await Promise.all((["AUDITOR", "VIEWER", "OPERATOR"] as const).map(async (role) => [role, await tokenCaller(playwright, baseURL!, request, role, `cov-${role.toLowerCase()}-${stamp}`)] as const)),
  );
  const made: { name: string; sent: Sent; status: number; expected: Expected }[] = [];
  try {
    // The log itself.
    const auditorRead = await send(callers.AUDITOR!, "GET", "/api/v1/audit/events?limit=5");
    expect(auditorRead.status, auditorRead.text).toBe(200);
    for (const role of ["VIEWER", "OPERATOR"] as const) {
      const who = callers[role]!;
      made.push({ name: `${role} GET /api/v1/audit/events`, sent: await send(who, "GET", "/api/v1/audit/events?limit=5"), status: 403, expected: { action: "api.request", actor: who, outcome: "DENIED", targetLabel: "GET /api/v1/audit/events" } });
    }

    // AUDITOR changes nothing but its own tokens: its grants must say exactly that.
    const auditorChanges = PERMISSIONS.filter((p) => p !== "read" && p !== "audit.read" && can("AUDITOR", p));
    expect(auditorChanges).toEqual([...SELF_SERVICE]);

    // Every mutating route, called by each role that lacks its permission: 403, audited DENIED under the route's action.
    // Agent routes take no user token at all (401); public routes (setup, enrolment) are not role-gated.
    for (const role of ["AUDITOR", "VIEWER", "OPERATOR"] as const) {
      const who = callers[role]!;
      for (const [key, spec] of MUTATING_SPECS) {
        if (spec.permission === "public") continue;
        if (spec.permission !== "agent" && can(role, spec.permission)) continue;
        const url = spec.path.replace(/\{(\w+)\}/g, (_match, name: string) => (name === "id" ? ZERO_UUID : `cov-none-${name}`));
        const sent = await send(who, spec.method.toUpperCase(), url, {
          data: spec.rawBody ? Buffer.from("not a model") : {},
          headers: spec.rawBody ? { "content-type": spec.rawBody.contentType } : {},
        });
        const agent = spec.permission === "agent";
        const actor = agent ? { kind: "ANONYMOUS", label: "anonymous" } : who;
        made.push({ name: `${role} ${key}`, sent, status: agent ? 401 : 403, expected: { action: spec.action!, actor, outcome: "DENIED", targetLabel: spec.permission === "inference" ? GATEWAY_ROUTE : key } });
      }
    }

    const log = await readAuditLog(callers.AUDITOR!);
    const problems: string[] = [];
    for (const call of made) {
      if (call.sent.status !== call.status) problems.push(`${call.name}: HTTP ${call.sent.status}, expected ${call.status}: ${call.sent.text.slice(0, 200)}`);
      const event = log.find((e) => e.requestId === call.sent.requestId);
      const got = event && { action: event.action, actorKind: event.actorKind, actorLabel: event.actorLabel, outcome: event.outcome, targetLabel: event.targetLabel };
      const want = { action: call.expected.action, actorKind: call.expected.actor.kind, actorLabel: call.expected.actor.label, outcome: call.expected.outcome, targetLabel: call.expected.targetLabel };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${call.name}: event ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    expect(made.filter((call) => call.name.startsWith("AUDITOR ")).length).toBeGreaterThan(20);
    expect(problems, problems.join("\n")).toEqual([]);
  } finally {
    for (const caller of Object.values(callers)) await caller.request.dispose();
  }
});
