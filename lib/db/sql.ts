import type { Tx } from "./client";
import { getPool } from "./client";

/**
 * Hand-written SQL inside one transaction, for the writes on the path from
 * "create a deployment" to "its replica takes traffic" (the deployment's
 * transaction, converge, the agent's status report, their audit rows):
 * through Prisma 6.19's client engine each query costs 2-9 ms of CPU on the
 * JavaScript thread, through `pg` about 0.3 ms (bench/deploy, bench/gateway).
 *
 * The same functions run inside a Prisma interactive transaction too (a
 * user's update, a server being disabled): `asSql(tx)` sends them through
 * `$queryRawUnsafe` on that transaction's connection. Both drivers return the
 * same JavaScript values for every type but two, so queries written for
 * `Sql` never select a raw `bigint` (cast to float8 or text) or an enum array
 * (cast to text[]). Parameters only through placeholders, with an explicit
 * cast where the type matters (`$1::uuid`, `$2::jsonb` from JSON text).
 */
export type Sql = { query<R>(text: string, values?: unknown[]): Promise<R[]> };

function prismaSql(tx: Tx): Sql {
  return { query: <R>(text: string, values: unknown[] = []) => tx.$queryRawUnsafe<R[]>(text, ...values) };
}

/** The SQL face of either kind of transaction. */
export function asSql(tx: Tx | Sql): Sql {
  return "query" in tx && typeof tx.query === "function" ? (tx as Sql) : prismaSql(tx as Tx);
}

/** Single statements on the pool, outside any transaction (reads). */
export function pooledSql(): Sql {
  return { query: async <R>(text: string, values?: unknown[]) => (await getPool().query(text, values)).rows as R[] };
}

/** Runs `work` in one transaction on a `pg` connection: committed when it returns, rolled back when it throws. */
export async function sqlTransaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await getPool().connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await work({ query: async <R>(text: string, values?: unknown[]) => (await client.query(text, values)).rows as R[] });
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection that could not roll back is not handed to the next caller.
    client.release(broken);
  }
}
