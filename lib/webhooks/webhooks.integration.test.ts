import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { connectTestDatabase, dump, auditLog } from "@/test/use-database";
import { recordStandaloneAuditEvent, SYSTEM_ACTOR } from "@/lib/audit/record-event";
import { verifyAuditChainFor } from "@/lib/audit/verify-chain";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import { emitWebhookEvent } from "./emit";
import { verifyDeliverySignature } from "./sign";
import { createWebhook, deleteWebhook, listDeliveries, updateWebhook } from "./webhooks";
import { deliverDue, startWebhookWorker } from "./worker";

const databaseUrl = connectTestDatabase();
process.env.BERTH_SEALING_KEY ??= "webhooks-test";
const request = { requestId: "it-webhooks", sourceAddress: "127.0.0.1", userAgent: null };

type Received = { path: string; headers: http.IncomingHttpHeaders; body: string };

/** A real receiver on 127.0.0.1: records every request and answers with the next status queued for its path (200 when none). */
const received: Received[] = [];
const answers = new Map<string, number[]>();
let delayMs = 0;
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    const status = answers.get(req.url ?? "")?.shift() ?? 200;
    setTimeout(() => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "try again later");
    }, delayMs);
  });
});
let base = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const stamp = Date.now().toString(36);
const add = (name: string, path: string, events: ("replica.failed" | "server.offline" | "deployment.finished" | "audit.verification_failed")[], enabled = true) =>
  createWebhook({ actor: systemActor(), request, input: { name: `${name}-${stamp}`, url: `${base}${path}`, events, enabled } });
const at = (path: string) => received.filter((r) => r.path === path);
const rowsOf = (webhookId: string) => getDb().webhookDelivery.findMany({ where: { webhookId } });

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("webhooks", () => {
  it("signs each delivery, retries a 500 after the back-off, and ends succeeded with attempts=2; the log showed the 500 in between", async () => {
    const { webhook, secret } = await add("retry", "/retry", ["server.offline"]);
    expect(dump(await getDb().webhook.findUniqueOrThrow({ where: { id: webhook.id } }))).not.toContain(secret);
    answers.set("/retry", [500]);
    const worker = await startWebhookWorker({ pollMs: 100, baseSeconds: 1 });
    try {
      const started = Date.now();
      await getDb().$transaction((tx) => emitWebhookEvent(tx, "server.offline", { server: { name: "gpu-7" }, lastSeenAt: null }));
      // After the first answer (500): still pending, one attempt, the 500 on the record.
      const first = await until("the failed first attempt", async () => {
        const [d] = (await listDeliveries({ name: webhook.name, limit: 10 })).deliveries;
        return d && d.attempts === 1 ? d : undefined;
      });
      expect(first).toMatchObject({ state: "pending", attempts: 1, lastStatus: 500, lastError: "receiver answered 500 Internal Server Error" });
      expect(at("/retry")).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(1500); // woken by NOTIFY, not by waiting for a poll of its own making
      const done = await until("the retried delivery to succeed", async () => {
        const [d] = (await listDeliveries({ name: webhook.name, limit: 10 })).deliveries;
        return d?.state === "succeeded" ? d : undefined;
      });
      expect(done).toMatchObject({ event: "server.offline", attempts: 2, lastStatus: 200, lastError: null, nextAttemptAt: null });
      expect(done.deliveredAt).not.toBeNull();
      // Back-off with jitter: 1 s ± 20 % between the attempts.
      expect(new Date(done.deliveredAt!).getTime() - new Date(first.createdAt).getTime()).toBeGreaterThanOrEqual(750);
    } finally {
      await worker.stop();
    }
    const [one, two] = at("/retry");
    expect(two!.body).toBe(one!.body);
    for (const hit of [one!, two!]) {
      expect(hit.headers["content-type"]).toBe("application/json");
      expect(hit.headers["x-berth-event"]).toBe("server.offline");
      const body = JSON.parse(hit.body) as { id: string; event: string; createdAt: string; data: unknown };
      expect(hit.headers["x-berth-delivery"]).toBe(body.id);
      expect(body).toMatchObject({ event: "server.offline", data: { server: { name: "gpu-7" }, lastSeenAt: null } });
      expect(Number(hit.headers["x-berth-timestamp"])).toBeCloseTo(Date.now() / 1000, -1);
      expect(hit.headers["x-berth-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifyDeliverySignature({ secret, timestamp: hit.headers["x-berth-timestamp"] as string, body: hit.body, signature: hit.headers["x-berth-signature"] as string })).toBe(true);
      expect(verifyDeliverySignature({ secret: `${secret}x`, timestamp: hit.headers["x-berth-timestamp"] as string, body: hit.body, signature: hit.headers["x-berth-signature"] as string })).toBe(false);
      expect(verifyDeliverySignature({ secret, timestamp: hit.headers["x-berth-timestamp"] as string, body: hit.body.replace("gpu-7", "gpu-8"), signature: hit.headers["x-berth-signature"] as string })).toBe(false);
    }
    // The audit log names the webhook, never its secret.
    const audit = await (await auditLog()).findMany({ where: { targetLabel: webhook.name } });
    expect(audit.map((e) => e.action)).toEqual(["webhook.create"]);
    expect(dump(audit)).not.toContain(secret);
    await deleteWebhook({ actor: systemActor(), request, name: webhook.name });
  });

  it("queues nothing for a disabled webhook or one not subscribed to the event", async () => {
    const disabled = (await add("disabled", "/disabled", ["server.offline"], false)).webhook;
    const other = (await add("other", "/other", ["replica.failed", "deployment.finished"])).webhook;
    const listening = (await add("listening", "/listening", ["server.offline"])).webhook;
    const queued = await getDb().$transaction((tx) => emitWebhookEvent(tx, "server.offline", { server: { name: "gpu-8" } }));
    expect(queued).toBe(1);
    await deliverDue({ baseSeconds: 1 });
    expect(await rowsOf(disabled.id)).toHaveLength(0);
    expect(await rowsOf(other.id)).toHaveLength(0);
    expect(at("/disabled")).toHaveLength(0);
    expect(at("/other")).toHaveLength(0);
    expect(at("/listening")).toHaveLength(1);
    // Enabled again, it gets the next one.
    await updateWebhook({ actor: systemActor(), request, name: disabled.name, input: { enabled: true } });
    await getDb().$transaction((tx) => emitWebhookEvent(tx, "server.offline", { server: { name: "gpu-9" } }));
    await deliverDue({ baseSeconds: 1 });
    expect(at("/disabled")).toHaveLength(1);
    expect(at("/other")).toHaveLength(0);
    for (const w of [disabled, other, listening]) await deleteWebhook({ actor: systemActor(), request, name: w.name });
  });

  it("sends nothing for an event whose transaction rolled back", async () => {
    const { webhook } = await add("rollback", "/rollback", ["replica.failed"]);
    await expect(
      getDb().$transaction(async (tx) => {
        expect(await emitWebhookEvent(tx, "replica.failed", { deployment: { name: "never" } })).toBe(1);
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await rowsOf(webhook.id)).toHaveLength(0);
    await deliverDue({ baseSeconds: 1 });
    expect(at("/rollback")).toHaveLength(0);
    await deleteWebhook({ actor: systemActor(), request, name: webhook.name });
  });

  it("delivers each delivery once when two workers race for them", async () => {
    const { webhook } = await add("race", "/race", ["deployment.finished"]);
    delayMs = 30;
    try {
      await getDb().$transaction(async (tx) => {
        for (let i = 0; i < 30; i++) await emitWebhookEvent(tx, "deployment.finished", { deployment: { name: `d-${i}` }, generation: 1 });
      });
      const [a, b] = await Promise.all([deliverDue({ baseSeconds: 1 }), deliverDue({ baseSeconds: 1 })]);
      expect(a + b).toBeGreaterThanOrEqual(30);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
    } finally {
      delayMs = 0;
    }
    const ids = at("/race").map((r) => r.headers["x-berth-delivery"]);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    const rows = await rowsOf(webhook.id);
    expect(rows.every((r) => r.state === "SUCCEEDED" && r.attempts === 1)).toBe(true);
    await deleteWebhook({ actor: systemActor(), request, name: webhook.name });
  });

  it("queues audit.verification_failed when a verification finds the chain broken, and nothing when it is whole", async () => {
    const { webhook } = await add("audit", "/audit", ["audit.verification_failed"]);
    const events: { seq: bigint }[] = [];
    for (let i = 0; i < 3; i++) events.push(await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.webhook_tamper", details: { i } }));
    // A database superuser with the append-only trigger off edits the middle event.
    const tamper = async (i: number) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query("SET session_replication_role = replica");
        await client.query(`UPDATE audit_events SET details = $2::jsonb WHERE seq = $1`, [events[1]!.seq.toString(), JSON.stringify({ i })]);
      } finally {
        await client.end();
      }
    };
    await tamper(99);
    const auditor = { kind: "USER" as const, id: null, label: "auditor@example.com" };
    try {
      expect(await verifyAuditChainFor(auditor, request)).toMatchObject({ ok: false, seq: events[1]!.seq.toString() });
    } finally {
      await tamper(1);
    }
    const [row, ...more] = await rowsOf(webhook.id);
    expect(more).toHaveLength(0);
    expect(row).toMatchObject({ event: "audit.verification_failed", state: "PENDING", payload: { failedAt: events[1]!.seq.toString(), problem: "hash_mismatch", verifiedBy: "auditor@example.com" } });
    expect(await verifyAuditChainFor(auditor, request)).toMatchObject({ ok: true });
    expect(await rowsOf(webhook.id)).toHaveLength(1);
    await deleteWebhook({ actor: systemActor(), request, name: webhook.name });
  });

  it("gives up as failed after 8 attempts", async () => {
    const { webhook } = await add("gives-up", "/gives-up", ["audit.verification_failed"]);
    answers.set("/gives-up", Array(8).fill(503));
    await getDb().$transaction((tx) => emitWebhookEvent(tx, "audit.verification_failed", { failedAt: "7" }));
    for (let attempt = 0; attempt < 8; attempt++) {
      await deliverDue({ baseSeconds: 1 });
      // Make the retry due now rather than wait out the back-off.
      await getDb().webhookDelivery.updateMany({ where: { webhookId: webhook.id, state: "PENDING" }, data: { nextAttemptAt: new Date() } });
    }
    const [row] = await rowsOf(webhook.id);
    expect(row).toMatchObject({ state: "FAILED", attempts: 8, lastStatus: 503 });
    expect(await deliverDue({ baseSeconds: 1 })).toBe(0);
    expect(at("/gives-up")).toHaveLength(8);
    await deleteWebhook({ actor: systemActor(), request, name: webhook.name });
  });
});
