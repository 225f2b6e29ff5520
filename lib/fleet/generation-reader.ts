import { getPool } from "@/lib/db/client";
import { createBatchedRead } from "@/lib/db/batched-read";

/**
 * The generation read at the start of every long-poll, batched
 * (lib/db/batched-read.ts): every agent re-polls after each answer, and after
 * a fleet-wide change all of them at once (bench/fleet's propagation step:
 * 10,000 re-polls within a second or two). The caller registers its waiter
 * before reading, so no committed change is missed.
 */
const read = createBatchedRead(async (ids) => {
  const { rows } = await getPool().query<{ id: string; generation: number }>({ name: "berth-generations", text: "SELECT id, generation FROM servers WHERE id = ANY($1::uuid[])", values: [ids] });
  return new Map(rows.map((row) => [row.id, row.generation]));
});

/** The server's desired-state generation; null when the server no longer exists. */
export async function readGeneration(serverId: string): Promise<number | null> {
  return (await read(serverId)) ?? null;
}
