import { PrismaClient } from "@prisma/client";
import { PrismaPg } from "@prisma/adapter-pg";

export type Db = PrismaClient;
/** The client handed to code running inside `db.$transaction(async (tx) => ...)`. */
export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

// One client per process. The custom server and Next's bundled route handlers
// load this module separately, so the instance lives on globalThis.
const holder = globalThis as unknown as { __berthDb?: PrismaClient; __berthDbUrl?: string };

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: start Berth with `npm start` (it starts the database) or set DATABASE_URL");
  return url;
}

export function getDb(): PrismaClient {
  const url = databaseUrl();
  if (!holder.__berthDb || holder.__berthDbUrl !== url) {
    holder.__berthDb = new PrismaClient({
      adapter: new PrismaPg({ connectionString: url, max: Number(process.env.BERTH_DB_POOL_SIZE || 10) }),
    });
    holder.__berthDbUrl = url;
  }
  return holder.__berthDb;
}

export async function disconnectDb(): Promise<void> {
  const db = holder.__berthDb;
  holder.__berthDb = undefined;
  holder.__berthDbUrl = undefined;
  await db?.$disconnect();
}
