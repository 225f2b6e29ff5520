import { afterAll, inject } from "vitest";
import { disconnectDb } from "@/lib/db/client";

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
