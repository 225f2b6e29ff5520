/**
 * Wakes agents' long-polls when their desired state changes. Waiters live in
 * the process holding the long-poll; changes reach every process through
 * PostgreSQL NOTIFY (lib/fleet/fleet-listener.ts), sent in the transaction
 * that bumps the generation, so a wake-up means the change is committed.
 */
type Waiter = (generation: number) => void;

export type GenerationWatch = {
  notify(serverId: string, generation: number): void;
  /** Resolves with the new generation, or null after `timeoutMs` or when `signal` aborts. */
  wait(serverId: string, timeoutMs: number, signal?: AbortSignal): Promise<number | null>;
  waitingCount(): number;
};

export function createGenerationWatch(): GenerationWatch {
  const waiters = new Map<string, Set<Waiter>>();
  return {
    notify(serverId, generation) {
      const set = waiters.get(serverId);
      if (!set) return;
      waiters.delete(serverId);
      for (const wake of set) wake(generation);
    },
    wait(serverId, timeoutMs, signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve(null);
        let set = waiters.get(serverId);
        if (!set) waiters.set(serverId, (set = new Set()));
        const done = (value: number | null) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const current = waiters.get(serverId);
          if (current?.delete(wake) && current.size === 0) waiters.delete(serverId);
          resolve(value);
        };
        const wake: Waiter = (generation) => done(generation);
        const onAbort = () => done(null);
        const timer = setTimeout(() => done(null), timeoutMs);
        set.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    waitingCount() {
      let count = 0;
      for (const set of waiters.values()) count += set.size;
      return count;
    },
  };
}

// The custom server and Next's bundled route handlers load this module
// separately: the process's one watch lives on globalThis.
const holder = globalThis as unknown as { __berthGenerationWatch?: GenerationWatch };
const watch = (holder.__berthGenerationWatch ??= createGenerationWatch());

export const notifyGeneration = (serverId: string, generation: number) => watch.notify(serverId, generation);
export const waitForGeneration = (serverId: string, timeoutMs: number, signal?: AbortSignal) => watch.wait(serverId, timeoutMs, signal);
export const waitingCount = () => watch.waitingCount();
