import pg from "pg";
import { describe, expect, it } from "vitest";
import { connectTestDatabase } from "@/test/use-database";
import { getDb, getPool } from "@/lib/db/client";
import { sqlTransaction } from "@/lib/db/sql";
import { recordAuditEvent, SYSTEM_ACTOR } from "./record-event";
import { chainPendingEvents } from "./sequencer";
import { verifyAuditChain } from "./verify-chain";

const url = connectTestDatabase();
const request = { requestId: "sequencer-test", sourceAddress: "127.0.0.1" };

async function pendingCount(action: string): Promise<number> {
  const { rows } = await getPool().query<{ n: number }>("SELECT count(*)::int AS n FROM audit_pending WHERE action = $1", [action]);
  return rows[0]!.n;
}

async function chained(action: string) {
  return getDb().auditEvent.findMany({ where: { action }, orderBy: { seq: "asc" } });
}

/** Another control plane's sequencer: its own connection, the same database function. */
async function otherProcessPass(): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT berth_audit_chain_pending(50) AS n");
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe("the audit sequencer", () => {
  it("chains an event once its transaction commits, at the time it was recorded, and never one rolled back", async () => {
    const action = "seqtest.commit";
    let recordedAfter = 0;
    await sqlTransaction(async (sql) => {
      recordedAfter = Date.now();
      await recordAuditEvent(sql, { actor: SYSTEM_ACTOR, request, action, details: { n: 1 } });
      // Uncommitted: invisible to every sequencer, so nothing can chain it yet.
      await otherProcessPass();
      expect(await chained(action)).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 30));
    });
    await expect(
      sqlTransaction(async (sql) => {
        await recordAuditEvent(sql, { actor: SYSTEM_ACTOR, request, action: "seqtest.rolled_back", details: {} });
        throw new Error("the change fails");
      }),
    ).rejects.toThrow("the change fails");

    await chainPendingEvents();
    const [event] = await chained(action);
    expect(event).toMatchObject({ action, details: { n: 1 } });
    // The event's time is when it was recorded inside the transaction, not when the sequencer chained it.
    expect(event!.at.getTime()).toBeGreaterThanOrEqual(recordedAfter - 1);
    expect(event!.at.getTime()).toBeLessThan(recordedAfter + 25);
    expect(await pendingCount(action)).toBe(0);
    expect(await pendingCount("seqtest.rolled_back")).toBe(0);
    expect(await chained("seqtest.rolled_back")).toHaveLength(0);
  });

  it("chains on its own a few milliseconds after the commit, without a reader asking", async () => {
    const action = "seqtest.unprompted";
    await getDb().$transaction((tx) => recordAuditEvent(tx, { actor: SYSTEM_ACTOR, request, action }));
    const deadline = Date.now() + 2_000;
    while ((await chained(action)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await chained(action)).toHaveLength(1);
  });

  it("takes hundreds of concurrent audited transactions with two sequencers running, each event chained exactly once, the chain whole", async () => {
    const action = "seqtest.concurrent";
    const count = 300;
    let stop = false;
    const other = (async () => {
      while (!stop) await otherProcessPass();
    })();
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        sqlTransaction(async (sql) => {
          await sql.query("SELECT pg_sleep(0.001)");
          await recordAuditEvent(sql, { actor: SYSTEM_ACTOR, request, action, details: { i } });
        }),
      ),
    );
    await chainPendingEvents();
    stop = true;
    await other;
    const events = await chained(action);
    expect(events).toHaveLength(count);
    expect(new Set(events.map((e) => (e.details as { i: number }).i)).size).toBe(count);
    expect(await pendingCount(action)).toBe(0);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });

  it("is refused UPDATE, DELETE and TRUNCATE of pending events outside the sequencer", async () => {
    const action = "seqtest.guarded";
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("BEGIN");
      await recordAuditEvent({ query: async (text, values) => (await client.query(text, values)).rows }, { actor: SYSTEM_ACTOR, request, action });
      await expect(client.query("UPDATE audit_pending SET action = 'seqtest.edited'")).rejects.toThrow(/append-only: UPDATE refused/);
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await recordAuditEvent({ query: async (text, values) => (await client.query(text, values)).rows }, { actor: SYSTEM_ACTOR, request, action });
      await expect(client.query("DELETE FROM audit_pending")).rejects.toThrow(/append-only: DELETE refused/);
      await client.query("ROLLBACK");
      await expect(client.query("TRUNCATE audit_pending")).rejects.toThrow(/append-only: TRUNCATE refused/);
    } finally {
      await client.end();
    }
    expect(await chained(action)).toHaveLength(0);
  });
});
