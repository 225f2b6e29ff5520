import pg from "pg";
import { afterAll, inject } from "vitest";
import { chainPendingEvents } from "@/lib/audit/sequencer";
import { disconnectDb, getDb } from "@/lib/db/client";

/** Call at the top of an integration test file: points lib/db at the test database. */
export function connectTestDatabase(): string {
  const url = inject("databaseUrl");
  process.env.DATABASE_URL = url;
  afterAll(async () => {
    await disconnectDb();
  });
  return url;
}

/** JSON of database rows (seq is a bigint), for "this secret appears nowhere" assertions. */
export function dump(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * The audit log as every reader sees it: events that committed transactions
 * recorded are chained first (lib/audit/sequencer.ts does the same before
 * each read of the log), then the table.
 */
export async function auditLog() {
  await chainPendingEvents();
  return getDb().auditEvent;
}

/** One statement as the database superuser the tests connect as, with triggers off: how a malicious DBA would tamper. */
export async function asSuperuser(url: string, text: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET session_replication_role = replica");
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}
