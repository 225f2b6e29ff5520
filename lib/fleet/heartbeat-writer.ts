import { getLossyWritePool } from "@/lib/db/client";
import type { Inventory } from "@/lib/protocol/agent";

/**
 * Group commit for the heartbeats of online servers. Heartbeats that arrive
 * while an UPDATE is in flight go out together in the next one: one
 * statement, one commit, one round trip for the batch. Statements start at
 * most every MIN_INTERVAL_MS: with a fast database a batch was otherwise one
 * to three beats, and each statement's round trip (the socket write was a
 * quarter of the control plane's busy time in bench/fleet's 5000-agent
 * profile) and commit (a WAL flush) cost about as much as its rows. A
 * heartbeat waits at most that long for its batch; when the fleet is quiet
 * it is written at once (on the next turn of the event loop).
 */
export type OnlineServerRow = { name: string; generation: number; rotation_requested: boolean; admin_state: "ACTIVE" | "DRAINING" | "DISABLED" };
export type Beat = { serverId: string; lastSeenAt: Date; observedGeneration: number | null; inventory: Inventory };
type Pending = Beat & { resolve: (row: OnlineServerRow | null) => void; reject: (error: unknown) => void };

const MAX_BATCH = 500;
const MIN_INTERVAL_MS = 10;
let lastStart = -Infinity;
/**
 * The inventory object this process last wrote for each server, and the
 * last_seen_at it wrote with it. A heartbeat whose inventory is that same
 * object (server/agent-routes.ts hands back one frozen object while a host
 * sends the same body) leaves the inventory as it is: no JSON text to build,
 * send and parse into jsonb, a narrower row change. It is skipped only while
 * the row's last_seen_at is still the one written here, i.e. nothing else
 * (another control-plane replica, enrolment, the transition to online) wrote
 * the row since; otherwise the beat is written again in full.
 */
const written = new Map<string, { inventory: Inventory; lastSeenAt: Date }>();
const MAX_WRITTEN = 200_000;
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
  const wait = lastStart + MIN_INTERVAL_MS - performance.now();
  if (wait > 0) setTimeout(() => void flush(), wait);
  else setImmediate(() => void flush());
}

async function flush() {
  scheduled = false;
  if (inFlight || queue.length === 0) return;
  inFlight = true;
  lastStart = performance.now();
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
  const skips = beats.map((b) => {
    const known = written.get(b.serverId);
    return known !== undefined && known.inventory === b.inventory ? known.lastSeenAt : null;
  });
  const rows = await writeBeats(beats, skips);
  // Rows that kept their inventory but were written by someone else meanwhile: once more, in full.
  const stale = beats.filter((b, i) => skips[i] !== null && !rows.has(b.serverId));
  if (stale.length > 0) for (const [id, row] of await writeBeats(stale, stale.map(() => null))) rows.set(id, row);
  if (written.size + beats.length > MAX_WRITTEN) written.clear();
  for (const beat of beats) {
    if (rows.has(beat.serverId)) written.set(beat.serverId, { inventory: beat.inventory, lastSeenAt: beat.lastSeenAt });
    else written.delete(beat.serverId);
  }
  return rows;
}

/** `skips[i]`: the last_seen_at under which beats[i]'s inventory was written here (kept as it is), or null (written). */
async function writeBeats(beats: Beat[], skips: (Date | null)[]): Promise<Map<string, OnlineServerRow>> {
  // Prepared once per connection: the agent channel's most frequent statement.
  const { rows } = await getLossyWritePool().query<OnlineServerRow & { id: string }>({
    name: "berth-heartbeats",
    text: `UPDATE servers AS s
        SET last_seen_at = v.last_seen_at, observed_generation = v.observed_generation,
            hostname = COALESCE(v.hostname, s.hostname), agent_version = COALESCE(v.agent_version, s.agent_version),
            inventory = COALESCE(v.inventory, s.inventory)
       FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])
            AS v(id, last_seen_at, observed_generation, hostname, agent_version, inventory, kept_since)
      WHERE s.id = v.id AND s.connectivity = 'ONLINE' AND (v.kept_since IS NULL OR s.last_seen_at = v.kept_since)
      RETURNING s.id, s.name, s.generation, s.rotation_requested, s.admin_state`,
    values: [
      beats.map((b) => b.serverId),
      // ISO text: node-postgres turns a Date into local time with its offset, slowly (3 % of the busy time in that profile).
      beats.map((b) => b.lastSeenAt.toISOString()),
      beats.map((b) => b.observedGeneration),
      beats.map((b, i) => (skips[i] ? null : b.inventory.hostname)),
      beats.map((b, i) => (skips[i] ? null : b.inventory.agentVersion)),
      beats.map((b, i) => (skips[i] ? null : JSON.stringify(b.inventory))),
      skips.map((at) => at?.toISOString() ?? null),
    ],
  });
  return new Map(rows.map((row) => [row.id, row]));
}

/** For tests: forget what this process wrote, as a restarted (or another) replica would not know it. */
export function forgetWrittenInventories(): void {
  written.clear();
}
