import { randomUUID } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { chainHash, GENESIS_HASH, type ChainedFields } from "@/lib/audit/canonical";
import { recordStandaloneAuditEvent, SYSTEM_ACTOR } from "@/lib/audit/record-event";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { disconnectDb } from "./client";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres";
import { applyMigrations, pendingMigrations } from "./migrate";

/**
 * Upgrade: a database made and filled by the previous release (its
 * migrations only, its way of writing the audit chain) is upgraded by this
 * release's start-up migration path, and keeps its data and a chain that
 * still verifies, with new events appended by the new code.
 */
const root = path.resolve(import.meta.dirname, "..", "..");
let embedded: EmbeddedPostgres | undefined;
let scratch: string | undefined;

afterAll(async () => {
  await disconnectDb();
  await embedded?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Audit events exactly as the previous release wrote them: hashed in JavaScript, inserted by the application. */
async function previousReleaseAuditEvent(client: pg.Client, action: string, details: Record<string, unknown>) {
  const head = await client.query<{ hash: string }>("SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1");
  const prevHash = head.rows[0]?.hash ?? GENESIS_HASH;
  const seq = (await client.query<{ seq: string }>("SELECT nextval(pg_get_serial_sequence('audit_events', 'seq'))::text AS seq")).rows[0]!.seq;
  const at = new Date(Date.now() - 86_400_000);
  const fields: ChainedFields = {
    seq, at: at.toISOString(), actorKind: "USER", actorId: null, actorLabel: "old-admin@example.com", action,
    targetKind: "model", targetId: null, targetLabel: "iris", outcome: "SUCCESS", sourceAddress: "10.0.0.1", requestId: null, details,
  };
  await client.query(
    `INSERT INTO audit_events (seq, at, actor_kind, actor_label, action, target_kind, target_label, outcome, source_address, details, prev_hash, hash)
     VALUES ($1, $2, 'USER', $3, $4, 'model', 'iris', 'SUCCESS', '10.0.0.1', $5, $6, $7)`,
    [seq, at, fields.actorLabel, action, JSON.stringify(details), prevHash, chainHash(prevHash, fields)],
  );
}

describe("upgrading a database made by the previous release", () => {
  it("applies only the newer migrations, forward, and keeps the data and the audit chain", async () => {
    const { lastMigration } = JSON.parse(await readFile(path.join(root, "prisma", "previous-release.json"), "utf8")) as { lastMigration: string };
    const all = (await readdir(path.join(root, "prisma", "migrations"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(all).toContain(lastMigration);
    const previous = all.filter((name) => name <= lastMigration);
    const newer = all.filter((name) => name > lastMigration);
    expect(newer.length).toBeGreaterThan(0);

    scratch = await mkdtemp(path.join(os.tmpdir(), "berth-upgrade-"));
    await chmod(scratch, 0o711); // the postgres user must pass through (ENVIRONMENT.md)
    const oldMigrations = path.join(scratch, "migrations");
    await mkdir(oldMigrations);
    await cp(path.join(root, "prisma", "migrations", "migration_lock.toml"), path.join(oldMigrations, "migration_lock.toml"));
    for (const name of previous) await cp(path.join(root, "prisma", "migrations", name), path.join(oldMigrations, name), { recursive: true });

    embedded = await startEmbeddedPostgres({ dataDir: path.join(scratch, "data"), takeOver: true });
    const databaseUrl = embedded.connectionString;
    expect(await applyMigrations({ databaseUrl, root, migrationsDir: oldMigrations, log: () => {} })).toBe(previous.length);
    expect(await pendingMigrations({ databaseUrl, root })).toEqual(newer);

    // Fill it as the previous release would have.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const userId = randomUUID();
    const modelId = randomUUID();
    try {
      await client.query(`INSERT INTO users (id, email, name, password_hash, role) VALUES ($1, 'old-admin@example.com', 'Old Admin', 'scrypt$x', 'ADMIN')`, [userId]);
      await client.query(`INSERT INTO models (id, name, display_name, created_by, updated_at) VALUES ($1, 'iris', 'Iris', 'old-admin@example.com', now())`, [modelId]);
      for (let i = 0; i < 3; i++) await previousReleaseAuditEvent(client, i === 0 ? "model.create" : "model.update", { step: i, note: "written by the previous release" });
    } finally {
      await client.end();
    }

    // Upgrade through the same path `npm start` takes.
    expect(await applyMigrations({ databaseUrl, root, log: () => {} })).toBe(newer.length);
    expect(await pendingMigrations({ databaseUrl, root })).toEqual([]);

    const check = new pg.Client({ connectionString: databaseUrl });
    await check.connect();
    try {
      expect((await check.query("SELECT email, role FROM users WHERE id = $1", [userId])).rows).toEqual([{ email: "old-admin@example.com", role: "ADMIN" }]);
      expect((await check.query("SELECT name FROM models WHERE id = $1", [modelId])).rows).toEqual([{ name: "iris" }]);
      const applied = await check.query<{ migration_name: string }>("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name");
      expect(applied.rows.map((r) => r.migration_name)).toEqual(all);
    } finally {
      await check.end();
    }

    process.env.DATABASE_URL = databaseUrl;
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, checked: 3 });
    await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request: { requestId: null, sourceAddress: null }, action: "system.upgraded", details: { to: newer.at(-1) } });
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, checked: 4 });
  });
});
