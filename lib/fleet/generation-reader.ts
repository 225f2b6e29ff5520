import { getPool } from "@/lib/db/client";

/**
 * The generation read at the start of every long-poll, batched: reads asked
 * for while one is in flight go out together in the next one (one SELECT for
 * many servers). Every agent re-polls after each answer (every `waitSeconds`,
 * and all at once after a fleet-wide change: bench/fleet's propagation step
 * is 10,000 re-polls within a second or two), and one statement per re-poll
 * made PostgreSQL's per-statement cost grow with the fleet. A read is still
 * made after the caller has registered its waiter, so no committed change is
 * missed. Quiet fleets pay no wait: a read goes out on the next turn of the
 * event loop.
 */
type Pending = { serverId: string; resolve: (generation: number | null) => void; reject: (error: unknown) => void };

const MAX_BATCH = 1000;
let queue: Pending[] = [];
let inFlight = false;
let scheduled = false;

/** The server's desired-state generation; null when the server no longer exists. */
export function readGeneration(serverId: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    queue.push({ serverId, resolve, reject });
    kick();
  });
}

function kick() {
  if (inFlight || scheduled || queue.length === 0) return;
  scheduled = true;
  setImmediate(() => void flush());
}

async function flush() {
  scheduled = false;
  if (inFlight || queue.length === 0) return;
  inFlight = true;
  const batch = queue.slice(0, MAX_BATCH);
  queue = queue.slice(batch.length);
  try {
    const ids = [...new Set(batch.map((p) => p.serverId))];
    const { rows } = await getPool().query<{ id: string; generation: number }>("SELECT id, generation FROM servers WHERE id = ANY($1::uuid[])", [ids]);
    const generations = new Map(rows.map((row) => [row.id, row.generation]));
    for (const pending of batch) pending.resolve(generations.get(pending.serverId) ?? null);
  } catch (error) {
    for (const pending of batch) pending.reject(error);
  } finally {
    inFlight = false;
    kick();
  }
}
