import { getPool } from "@/lib/db/client";

/**
 * Group commit for the heartbeats of online servers. Heartbeats that arrive
 * while an UPDATE is in flight go out together in the next one: one
 * statement, one commit, one round trip for the batch. When the fleet is
 * quiet a heartbeat is written at once (on the next turn of the event loop),
 * so batching adds no wait of its own; under load it is what keeps the
 * database's per-statement cost (parse, plan, commit, WAL flush) from growing
 * with every agent.
 */
export type OnlineServerRow = { name: string; generation: number; rotation_requested: boolean; admin_state: "ACTIVE" | "DRAINING" | "DISABLED" };
export type Beat = { serverId: string; lastSeenAt: Date; observedGeneration: number | null; hostname: string; agentVersion: string; inventory: string };
type Pending = Beat & { resolve: (row: OnlineServerRow | null) => void; reject: (error: unknown) => void };

const MAX_BATCH = 500;
let queue: Pending[] = [];
let inFlight = false;
let scheduled = false;

/** Records the heartbeat if the server is online; null when it is not (or no longer exists). */
export function writeOnlineHeartbeat(beat: Beat): Promise<OnlineServerRow | null> {
  return new Promise((resolve, reject) => {
    queue.push({ ...beat, resolve, reject });
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
    const rows = await updateOnline(batch).catch((error: { code?: string }) => {
      // Another multi-row writer took the rows in another order: PostgreSQL aborted us; once more.
      if (error.code === "40P01") return updateOnline(batch);
      throw error;
    });
    for (const pending of batch) pending.resolve(rows.get(pending.serverId) ?? null);
  } catch (error) {
    for (const pending of batch) pending.reject(error);
  } finally {
    inFlight = false;
    kick();
  }
}

async function updateOnline(batch: Beat[]): Promise<Map<string, OnlineServerRow>> {
  // The last beat of each server wins; rows are locked in id order.
  const latest = new Map<string, Beat>();
  for (const beat of batch) latest.set(beat.serverId, beat);
  const beats = [...latest.values()].sort((a, b) => (a.serverId < b.serverId ? -1 : 1));
  const { rows } = await getPool().query<OnlineServerRow & { id: string }>(
    `UPDATE servers AS s
        SET last_seen_at = v.last_seen_at, observed_generation = v.observed_generation,
            hostname = v.hostname, agent_version = v.agent_version, inventory = v.inventory
       FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::text[], $5::text[], $6::jsonb[])
            AS v(id, last_seen_at, observed_generation, hostname, agent_version, inventory)
      WHERE s.id = v.id AND s.connectivity = 'ONLINE'
      RETURNING s.id, s.name, s.generation, s.rotation_requested, s.admin_state`,
    [
      beats.map((b) => b.serverId),
      beats.map((b) => b.lastSeenAt),
      beats.map((b) => b.observedGeneration),
      beats.map((b) => b.hostname),
      beats.map((b) => b.agentVersion),
      beats.map((b) => b.inventory),
    ],
  );
  return new Map(rows.map((row) => [row.id, row]));
}
