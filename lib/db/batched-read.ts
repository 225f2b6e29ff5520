/**
 * Reads by key, batched: keys asked for while a read is in flight go out
 * together in the next one (one statement for many keys), as the heartbeat
 * writer does for writes (lib/fleet/heartbeat-writer.ts). For reads that every
 * agent makes at once (the long-polls after a fleet-wide change): one
 * statement per caller made PostgreSQL's per-statement work, and the driver's,
 * grow with the fleet. Statements start at most every `minIntervalMs`, so a
 * steady trickle (idle long-polls ending and re-polling, hundreds a second at
 * 10,000 agents) shares statements too; a quiet process pays no wait: a read
 * goes out on the next turn of the event loop. A failed read fails every
 * caller in its batch.
 */
export function createBatchedRead<V>(
  readMany: (keys: string[]) => Promise<Map<string, V>>,
  options: { maxBatch?: number; minIntervalMs?: number } = {},
): (key: string) => Promise<V | undefined> {
  const maxBatch = options.maxBatch ?? 1000;
  const minIntervalMs = options.minIntervalMs ?? 10;
  let lastStart = -Infinity;
  type Pending = { key: string; resolve: (value: V | undefined) => void; reject: (error: unknown) => void };
  let queue: Pending[] = [];
  let inFlight = false;
  let scheduled = false;

  const kick = () => {
    if (inFlight || scheduled || queue.length === 0) return;
    scheduled = true;
    const wait = lastStart + minIntervalMs - performance.now();
    if (wait > 0) setTimeout(() => void flush(), wait);
    else setImmediate(() => void flush());
  };

  const flush = async () => {
    scheduled = false;
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    lastStart = performance.now();
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    try {
      const values = await readMany([...new Set(batch.map((p) => p.key))]);
      for (const pending of batch) pending.resolve(values.get(pending.key));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      inFlight = false;
      kick();
    }
  };

  return (key) =>
    new Promise((resolve, reject) => {
      queue.push({ key, resolve, reject });
      kick();
    });
}
