import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { adminToken, bearer, recentAuditEvents } from "../fixtures";

const PROTECTED = ["/api/v1/me", "/api/v1/tokens", "/api/v1/audit/events", "/api/v1/openapi.json"];

test("health answers without authentication and reports the database", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(await response.json()).toMatchObject({ status: "ok", database: { ok: true } });
});

test("every /api/v1 route refuses an anonymous caller with 401, and each refusal is audited", async ({ request, playwright, baseURL }) => {
  for (const path of PROTECTED) {
    const response = await request.get(path, { headers: { "x-request-id": `anon-check-${path.replaceAll("/", "-")}` } });
    expect(response.status(), path).toBe(401);
    const body = await response.json();
    expect(body.error.code).toBe("unauthenticated");
    expect(body.error.message).toMatch(/Sign in|API token/);
  }
  const posted = await request.post("/api/v1/tokens", { data: { name: "x", role: "ADMIN" } });
  expect(posted.status()).toBe(401);

  const auditor = await playwright.request.newContext({ baseURL });
  const { secret } = await adminToken(auditor, "AUDITOR");
  const denied = (await recentAuditEvents(auditor, secret, 100)).filter((e) => e.outcome === "DENIED" && e.actorKind === "ANONYMOUS");
  for (const path of PROTECTED) {
    expect(denied.some((e) => e.requestId === `anon-check-${path.replaceAll("/", "-")}` && e.details.reason === "no_credentials"), path).toBe(true);
  }
  expect(denied.some((e) => e.targetLabel === "POST /api/v1/tokens")).toBe(true);
  await auditor.dispose();
});

test("a bearer token works on every /api/v1 route, and unknown, malformed or expired tokens get 401", async ({ request, playwright, baseURL }) => {
  const { secret } = await adminToken(request);
  // A context with no session cookie: only the bearer token speaks for it.
  const bare = await playwright.request.newContext({ baseURL });
  for (const path of PROTECTED) expect((await bare.get(path, { headers: bearer(secret) })).status(), path).toBe(200);

  expect((await bare.get("/api/v1/me", { headers: bearer("berth_" + "A".repeat(43)) })).status()).toBe(401);
  const malformed = await bare.get("/api/v1/me", { headers: { authorization: "Basic abc" } });
  expect(malformed.status()).toBe(401);
  expect((await malformed.json()).error.message).toContain("Bearer");

  const soon = await bare.post("/api/v1/tokens", { headers: bearer(secret), data: { name: "soon", role: "VIEWER", expiresAt: new Date(Date.now() + 1500).toISOString() } });
  expect(soon.status()).toBe(201);
  const shortLived = (await soon.json()).secret as string;
  expect((await bare.get("/api/v1/me", { headers: bearer(shortLived) })).status()).toBe(200);
  await new Promise((r) => setTimeout(r, 2000));
  const expired = await bare.get("/api/v1/me", { headers: bearer(shortLived) });
  expect(expired.status()).toBe(401);
  expect((await expired.json()).error.message).toBe("The API token has expired");
  await bare.dispose();
});

test("bad input gets a structured 4xx and changes nothing", async ({ request }) => {
  const { secret } = await adminToken(request);
  const headers = bearer(secret);
  const count = async () => ((await (await request.get("/api/v1/tokens", { headers })).json()).tokens as unknown[]).length;
  const before = await count();

  const malformed = await request.post("/api/v1/tokens", { headers: { ...headers, "content-type": "application/json" }, data: Buffer.from("{not json") });
  expect(malformed.status()).toBe(400);
  expect((await malformed.json()).error.code).toBe("invalid_json");

  const wrongTypes = await request.post("/api/v1/tokens", { headers, data: { name: 42, role: "EMPEROR" } });
  expect(wrongTypes.status()).toBe(400);
  const wrongBody = await wrongTypes.json();
  expect(wrongBody.error.code).toBe("validation_failed");
  expect(wrongBody.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(["name", "role"]);

  const unknownField = await request.post("/api/v1/tokens", { headers, data: { name: "x", role: "VIEWER", isAdmin: true } });
  expect(unknownField.status()).toBe(400);
  expect(JSON.stringify(await unknownField.json())).toContain("isAdmin");

  const oversized = await request.post("/api/v1/tokens", { headers, data: { name: "x".repeat(2 * 1024 * 1024), role: "VIEWER" } });
  expect(oversized.status()).toBe(413);
  expect((await oversized.json()).error.code).toBe("payload_too_large");

  const form = await request.post("/api/v1/tokens", { headers, form: { name: "x", role: "VIEWER" } });
  expect(form.status()).toBe(415);

  const badQuery = await request.get("/api/v1/audit/events?limit=100000&before=1;DROP", { headers });
  expect(badQuery.status()).toBe(400);
  expect((await badQuery.json()).error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(["before", "limit"]);

  for (const id of ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "..%2F..%2Fetc%2Fpasswd"]) {
    const response = await request.delete(`/api/v1/tokens/${id}`, { headers });
    expect(response.status(), id).toBe(404);
    expect((await response.json()).error.code).toBe("not_found");
  }
  expect(await count()).toBe(before);

  // Refused mutations are audited as failures, with the reason.
  const failures = (await recentAuditEvents(request, secret)).filter((e) => e.action === "token.create" && e.outcome === "FAILURE");
  expect(failures.map((e) => e.details.reason)).toEqual(expect.arrayContaining(["invalid_json", "validation_failed", "payload_too_large", "unsupported_media_type"]));
});

test("roles are enforced: a VIEWER token cannot read the audit log or mint an ADMIN token, and each refusal is audited", async ({ request }) => {
  const admin = await adminToken(request);
  const viewer = await adminToken(request, "VIEWER");
  const audit = await request.get("/api/v1/audit/events", { headers: bearer(viewer.secret) });
  expect(audit.status()).toBe(403);
  expect((await audit.json()).error.code).toBe("forbidden");
  const escalate = await request.post("/api/v1/tokens", { headers: bearer(viewer.secret), data: { name: "up", role: "ADMIN" } });
  expect(escalate.status()).toBe(403);
  expect((await escalate.json()).error.message).toMatch(/no higher than your own/);

  const denied = (await recentAuditEvents(request, admin.secret)).filter((e) => e.outcome === "DENIED" && e.actorKind === "API_TOKEN");
  expect(denied.find((e) => e.targetLabel === "GET /api/v1/audit/events")?.details.reason).toBe("needs audit.read");
  expect(denied.find((e) => e.action === "token.create")?.details.reason).toBe("forbidden");
});

test("secrets never appear in the audit log", async ({ request }) => {
  const { secret } = await adminToken(request);
  const created = await request.post("/api/v1/tokens", { headers: bearer(secret), data: { name: "secret-check", role: "VIEWER" } });
  const newSecret = (await created.json()).secret as string;
  const events = JSON.stringify(await recentAuditEvents(request, secret, 500));
  expect(events).not.toContain(newSecret);
  expect(events).not.toContain(secret);
  expect(events).not.toContain("correct horse battery staple");
  expect(events).toContain("secret-check");
});

test("the OpenAPI document lists every route", async ({ request }) => {
  const { secret } = await adminToken(request);
  const response = await request.get("/api/v1/openapi.json", { headers: bearer(secret) });
  expect(response.status()).toBe(200);
  const doc = await response.json();
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/health", "/api/v1/me", "/api/v1/tokens", "/api/v1/tokens/{id}", "/api/v1/audit/events", "/api/v1/openapi.json"]));
});

test("every response carries a request id, and the audit event records it", async ({ request }) => {
  const { secret } = await adminToken(request);
  const response = await request.post("/api/v1/tokens", { headers: { ...bearer(secret), "x-request-id": "req-id-trace-0001" }, data: { name: "traced", role: "VIEWER" } });
  expect(response.headers()["x-request-id"]).toBe("req-id-trace-0001");
  const event = (await recentAuditEvents(request, secret)).find((e) => e.action === "token.create" && e.targetLabel === "traced");
  expect(event?.requestId).toBe("req-id-trace-0001");
  // A forged client address header is ignored: the server records the socket's.
  const refused = await request.delete("/api/v1/tokens/00000000-0000-0000-0000-000000000000", {
    headers: { ...bearer(secret), "x-berth-client-address": "6.6.6.6", "x-request-id": "forged-address-01" },
  });
  expect(refused.status()).toBe(404);
  const forged = (await recentAuditEvents(request, secret)).find((e) => e.requestId === "forged-address-01");
  expect(forged?.sourceAddress).toBe("127.0.0.1");
});

test("berth CLI: admin create-token on the host, then whoami and audit list with it", async () => {
  const env = { ...process.env, BERTH_DATA_DIR: process.env.BERTH_E2E_DATA_DIR!, BERTH_URL: test.info().project.use.baseURL!, BERTH_TOKEN: "" };
  delete (env as Record<string, string | undefined>).DATABASE_URL;
  const secret = execFileSync("node", ["bin/berth.mjs", "admin", "create-token", "--name", "recovery", "--role", "ADMIN"], { env, encoding: "utf8" }).trim();
  expect(secret).toMatch(/^berth_/);
  const whoami = JSON.parse(execFileSync("node", ["bin/berth.mjs", "whoami", "--json"], { env: { ...env, BERTH_TOKEN: secret }, encoding: "utf8" }));
  expect(whoami).toMatchObject({ kind: "API_TOKEN", role: "ADMIN", label: "recovery (system)" });
  const events = JSON.parse(execFileSync("node", ["bin/berth.mjs", "audit", "list", "--json", "--limit", "20"], { env: { ...env, BERTH_TOKEN: secret }, encoding: "utf8" }));
  const minted = events.events.find((e: { action: string; targetLabel: string }) => e.action === "token.create" && e.targetLabel === "recovery");
  expect(minted).toMatchObject({ actorKind: "SYSTEM", outcome: "SUCCESS" });
  expect(minted.actorLabel).toMatch(/^berth admin create-token \(/);

  let failed: { status: number; stderr: string } | undefined;
  try {
    execFileSync("node", ["bin/berth.mjs", "tokens", "list"], { env, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    failed = error as { status: number; stderr: string };
  }
  expect(failed?.status).toBe(1);
  expect(failed?.stderr).toContain("no token: set BERTH_TOKEN");
});
