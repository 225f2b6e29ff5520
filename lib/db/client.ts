import { PrismaClient } from "@prisma/client";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

export type Db = PrismaClient;
/** The client handed to code running inside `db.$transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

// One client per process. The custom server and Next's bundled route handlers
// load this module separately, so the instance lives on globalThis.
const holder = globalThis as unknown as { __berthDb?: PrismaClient; __berthPool?: pg.Pool; __berthDbUrl?: string };

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

export async function disconnectDb(): Promise<void> {
  const db = holder.__berthDb;
  const pool = holder.__berthPool;
  holder.__berthDb = undefined;
  holder.__berthPool = undefined;
  holder.__berthDbUrl = undefined;
  await db?.$disconnect();
  await pool?.end();
}
