import { PrismaClient } from "@prisma/client";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

export type Db = PrismaClient;
/** The client handed to code running inside `db.$transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

// One client per process. The custom server and Next's bundled route handlers
// load this module separately, so the instance lives on globalThis.
const holder = globalThis as unknown as { __berthDb?: PrismaClient; __berthPool?: pg.Pool; __berthDbUrl?: string; __berthLossyPool?: pg.Pool; __berthLossyUrl?: string };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: start Berth with `npm start` (it starts the database) or set DATABASE_URL");
  return url;
}

function connect() {
  const url = databaseUrl();
  if (!holder.__berthDb || holder.__berthDbUrl !== url) {
    // Prisma's driver adapter runs on this pool, and the few hot queries that
    // cannot afford Prisma's query compiler (getPool) use it directly.
    const pool = new pg.Pool({ connectionString: url, max: Number(process.env.BERTH_DB_POOL_SIZE || 10) });
    // An idle connection that breaks (the database restarting) is dropped by the pool; without a listener it would crash the process.
    pool.on("error", () => {});
    holder.__berthPool = pool;
    holder.__berthDb = new PrismaClient({ adapter: new PrismaPg(pool) });
    holder.__berthDbUrl = url;
  }
  return { db: holder.__berthDb, pool: holder.__berthPool! };
}

export function getDb(): PrismaClient {
  return connect().db;
}

/**
 * The `pg` pool under Prisma, for the agent channel's per-request queries
 * (credential lookup, heartbeat, generation read): through Prisma 6.19's
 * client engine each query costs about 2 ms of CPU on the JavaScript thread
 * (its query compiler runs in WebAssembly), through `pg` about 0.3 ms
 * (bench/README.md). Everything else goes through Prisma. Parameters only
 * through placeholders, never by string building.
 */
export function getPool(): pg.Pool {
  return connect().pool;
}

/**
 * One connection whose commits do not wait for the WAL flush
 * (`synchronous_commit=off`), for writes that are cheap to lose in a crash and
 * must not queue behind a slow flush: heartbeats' last-seen and inventory
 * (the agent sends them again within 10 s). PostgreSQL's own guarantee holds:
 * a crash loses the newest of them, never leaves the database inconsistent
 * (https://www.postgresql.org/docs/current/wal-async-commit.html). Nothing
 * audited is written here.
 */
export function getLossyWritePool(): pg.Pool {
  const url = databaseUrl();
  if (!holder.__berthLossyPool || holder.__berthLossyUrl !== url) {
    void holder.__berthLossyPool?.end().catch(() => {});
    const pool = new pg.Pool({ connectionString: url, max: 1, options: "-c synchronous_commit=off" });
    pool.on("error", () => {});
    holder.__berthLossyPool = pool;
    holder.__berthLossyUrl = url;
  }
  return holder.__berthLossyPool;
}

export async function disconnectDb(): Promise<void> {
  const db = holder.__berthDb;
  const pool = holder.__berthPool;
  const lossy = holder.__berthLossyPool;
  holder.__berthDb = undefined;
  holder.__berthPool = undefined;
  holder.__berthDbUrl = undefined;
  holder.__berthLossyPool = undefined;
  holder.__berthLossyUrl = undefined;
  await db?.$disconnect();
  await pool?.end();
  await lossy?.end();
}
