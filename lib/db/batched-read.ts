/**
 * Reads by key, batched: keys asked for while a read is in flight go out
 * together in the next one (one statement for many keys), as the heartbeat
 * writer does for writes (lib/fleet/heartbeat-writer.ts). For reads that every
 * agent makes at once (the long-polls after a fleet-wide change): one
 * statement per caller made PostgreSQL's per-statement work, and the driver's,
 * grow with the fleet. A quiet process pays no wait: a read goes out on the
 * next turn of the event loop. A failed read fails every caller in its batch.
 */
export function createBatchedRead<V>(readMany: (keys: string[]) => Promise<Map<string, V>>, maxBatch = 1000): (key: string) => Promise<V | undefined> {
  type Pending = { key: string; resolve: (value: V | undefined) => void; reject: (error: unknown) => void };
  let queue: Pending[] = [];
  let inFlight = false;
  let scheduled = false;

  const kick = () => {
    if (inFlight || scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(() => void flush());
  };

  const flush = async () => {
    scheduled = false;
    if (inFlight || queue.length === 0) return;
    inFlight = true;
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
