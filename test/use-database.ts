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
