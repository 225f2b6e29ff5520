/**
 * Wakes agents' long-polls when their desired state changes. Waiters live in
 * this process; a second control-plane replica would need the change
 * broadcast (PostgreSQL LISTEN/NOTIFY) to reach long-polls held by the other.
 */
type Waiter = (generation: number) => void;

const holder = globalThis as unknown as { __berthGenerationWaiters?: Map<string, Set<Waiter>> };
const waiters = (holder.__berthGenerationWaiters ??= new Map());

export function notifyGeneration(serverId: string, generation: number): void {
  const set = waiters.get(serverId);
  if (!set) return;
  waiters.delete(serverId);
  for (const wake of set) wake(generation);
}

/** Resolves with the new generation, or null after `timeoutMs` or when `signal` aborts. */
export function waitForGeneration(serverId: string, timeoutMs: number, signal?: AbortSignal): Promise<number | null> {
  return new Promise((resolve) => {
    let set = waiters.get(serverId);
    if (!set) waiters.set(serverId, (set = new Set()));
    const done = (value: number | null) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      waiters.get(serverId)?.delete(wake);
      resolve(value);
    };
    const wake: Waiter = (generation) => done(generation);
    const onAbort = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    set.add(wake);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function waitingCount(): number {
  let count = 0;
  for (const set of waiters.values()) count += set.size;
  return count;
}
