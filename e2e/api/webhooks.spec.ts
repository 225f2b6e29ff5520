import { expect, test } from "@playwright/test";
import { adminToken, bearer, recentAuditEvents } from "../fixtures";

test("webhooks API: ADMIN only, clear refusals for bad input, the secret returned once and never again", async ({ request }) => {
  const admin = (await adminToken(request, "ADMIN")).secret;
  const operator = (await adminToken(request, "OPERATOR")).secret;
  const name = `api-hook-${Date.now().toString(36)}`;
  const create = (data: unknown, token = admin) => request.post("/api/v1/webhooks", { headers: bearer(token), data });

  const refusals: [unknown, RegExp][] = [
    [{ name, url: "ftp://alerts.internal/x", events: ["server.offline"] }, /http:\/\/ or https:\/\//],
    [{ name, url: "https://alerts.internal/x", events: [] }, /at least one event/],
    [{ name, url: "https://alerts.internal/x", events: ["server.exploded"] }, /Unknown event "server.exploded"; choose from replica.failed, server.offline, deployment.finished, audit.verification_failed/],
    [{ name: "Bad Name", url: "https://alerts.internal/x", events: ["server.offline"] }, /lowercase letters/],
    [{ name, url: "https://alerts.internal/x", events: ["server.offline"], secret: "mine" }, /secret/],
  ];
  for (const [body, message] of refusals) {
    const refused = await create(body);
    expect(refused.status(), JSON.stringify(body)).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(message);
  }
  expect((await create({ name, url: "https://alerts.internal/x", events: ["server.offline"] }, operator)).status()).toBe(403);
  expect((await request.get("/api/v1/webhooks", { headers: bearer(operator) })).status()).toBe(403);

  const created = await create({ name, url: "https://alerts.internal/x?team=ml", events: ["server.offline", "replica.failed"] });
  expect(created.status()).toBe(201);
  const { webhook, secret } = (await created.json()) as { webhook: { name: string; events: string[]; enabled: boolean; lastDelivery: null }; secret: string };
  expect(webhook).toMatchObject({ name, events: ["server.offline", "replica.failed"], enabled: true, lastDelivery: null });
  expect(secret).toMatch(/^whsec_/);
  expect((await create({ name, url: "https://alerts.internal/y", events: ["server.offline"] })).status()).toBe(409);

  const patched = await request.patch(`/api/v1/webhooks/${name}`, { headers: bearer(admin), data: { enabled: false, events: ["deployment.finished"] } });
  expect(patched.status()).toBe(200);
  expect(((await patched.json()) as { webhook: { enabled: boolean; events: string[] } }).webhook).toMatchObject({ enabled: false, events: ["deployment.finished"] });
  expect((await request.patch(`/api/v1/webhooks/${name}`, { headers: bearer(admin), data: {} })).status()).toBe(400);
  expect((await request.patch(`/api/v1/webhooks/no-such-hook`, { headers: bearer(admin), data: { enabled: true } })).status()).toBe(404);

  // A test delivery is queued (and logged) even while disabled.
  const ping = await request.post(`/api/v1/webhooks/${name}/test`, { headers: bearer(admin) });
  expect(ping.status()).toBe(202);
  const log = (await (await request.get(`/api/v1/webhooks/${name}/deliveries?limit=10`, { headers: bearer(admin) })).json()) as { deliveries: { event: string }[]; nextBefore: string | null };
  expect(log.deliveries.map((d) => d.event)).toEqual(["ping"]);
  expect(log.nextBefore).toBeNull();

  // The audit log keeps the URL without its query string (incoming-webhook URLs carry tokens there).
  const audited = JSON.stringify((await recentAuditEvents(request, admin, 50)).filter((e) => e.targetLabel === name));
  expect(audited).toContain("https://alerts.internal/x?…");
  expect(audited).not.toContain("team=ml");

  const everything = [
    await (await request.get("/api/v1/webhooks", { headers: bearer(admin) })).text(),
    await (await request.get(`/api/v1/webhooks/${name}/deliveries`, { headers: bearer(admin) })).text(),
    JSON.stringify(await recentAuditEvents(request, admin, 50)),
  ].join("\n");
  expect(everything).toContain(name);
  expect(everything).not.toContain(secret);

  expect((await request.delete(`/api/v1/webhooks/${name}`, { headers: bearer(admin) })).status()).toBe(200);
  expect((await request.get(`/api/v1/webhooks/${name}/deliveries`, { headers: bearer(admin) })).status()).toBe(404);
});
