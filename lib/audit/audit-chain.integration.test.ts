import pg from "pg";
import { describe, expect, it } from "vitest";
import { connectTestDatabase } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent, recordStandaloneAuditEvent, SYSTEM_ACTOR } from "./record-event";
import { verifyAuditChain } from "./verify-chain";

const url = connectTestDatabase();
const request = { requestId: "test", sourceAddress: "127.0.0.1" };

async function sql(text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe("the audit chain", () => {
  it("links every event to the one before it, and verifies", async () => {
    const first = await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.first", details: { n: 1 } });
    const second = await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.second", details: { n: 2 } });
    const row = await getDb().auditEvent.findUniqueOrThrow({ where: { seq: second.seq } });
    expect(row.prevHash).toBe(first.hash);
    expect(row.hash).toBe(second.hash);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, headHash: second.hash });
  });

  it("keeps one order under concurrent writers", async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.concurrent", details: { i } })),
    );
    const result = await verifyAuditChain();
    expect(result.ok).toBe(true);
    const hashes = await getDb().auditEvent.findMany({ select: { prevHash: true } });
    // No two events claim the same predecessor: the chain did not fork.
    expect(new Set(hashes.map((h) => h.prevHash)).size).toBe(hashes.length);
  });

  it("rolls the change back when the audit write fails, and writes no event", async () => {
    const before = await getDb().auditEvent.count();
    await expect(
      getDb().$transaction(async (tx) => {
        await tx.user.create({ data: { email: "rollback@example.com", name: "R", passwordHash: "x", role: "VIEWER" } });
        // Fault injection: secrets in details are refused, which fails the audit write.
        await recordAuditEvent(tx, { actor: SYSTEM_ACTOR, request, action: "user.create", details: { password: "hunter2" } });
      }),
    ).rejects.toThrow(/must not contain secrets/);
    expect(await getDb().user.findUnique({ where: { email: "rollback@example.com" } })).toBeNull();
    expect(await getDb().auditEvent.count()).toBe(before);
  });

  it("refuses malformed action names", async () => {
    await expect(recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "NotDotted" })).rejects.toThrow(/dotted/);
  });

  it("is refused UPDATE, DELETE and TRUNCATE by the database itself", async () => {
    await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.immutable" });
    await expect(sql("UPDATE audit_events SET action = 'test.edited'")).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(sql("DELETE FROM audit_events")).rejects.toThrow(/append-only: DELETE refused/);
    await expect(sql("TRUNCATE audit_events")).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect(await getDb().auditEvent.count({ where: { action: "test.edited" } })).toBe(0);
  });

  it("detects an edited event when the trigger is bypassed by a superuser", async () => {
    const { seq } = await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "test.tamper", details: { amount: 1 } });
    await sql(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_refuse_update_delete;
               UPDATE audit_events SET details = '{"amount": 1000}' WHERE seq = ${seq};
               ALTER TABLE audit_events ENABLE TRIGGER audit_events_refuse_update_delete;`);
    const result = await verifyAuditChain();
    expect(result).toMatchObject({ ok: false, seq: seq.toString(), problem: "hash_mismatch" });
    // Put it back so later tests see a valid chain.
    await sql(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_refuse_update_delete;
               UPDATE audit_events SET details = '{"amount": 1}' WHERE seq = ${seq};
               ALTER TABLE audit_events ENABLE TRIGGER audit_events_refuse_update_delete;`);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});
