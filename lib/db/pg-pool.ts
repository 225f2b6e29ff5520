import pg from "pg";
import { databaseUrl } from "./client";

/**
 * A small pool of plain `pg` connections for the few reads and writes on hot
 * paths, where Prisma 6.19's client engine costs too much CPU per query on
 * the JavaScript thread (bench/fleet and bench/gateway: about 2–8 ms against
 * 0.3–0.4 ms through pg). Everything else goes through Prisma (client.ts).
 * SQL here is parameterised, never built from values.
 */
const holder = globalThis as unknown as { __berthPgPool?: pg.Pool; __berthPgPoolUrl?: string };

export function getPgPool(): pg.Pool {
  const url = databaseUrl();
  if (!holder.__berthPgPool || holder.__berthPgPoolUrl !== url) {
    void holder.__berthPgPool?.end().catch(() => {});
    holder.__berthPgPool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 60_000 });
    // An idle connection dropped by the server must not crash the process.
    holder.__berthPgPool.on("error", () => {});
    holder.__berthPgPoolUrl = url;
  }
  return holder.__berthPgPool;
}

export async function closePgPool(): Promise<void> {
  const pool = holder.__berthPgPool;
  holder.__berthPgPool = undefined;
  holder.__berthPgPoolUrl = undefined;
  await pool?.end();
}
