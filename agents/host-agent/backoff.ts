/**
 * Retry delays: exponential from 1 s, doubled per failure, clamped to 30 s
 * (Nomad's heartbeat retry interval has the same bounds), with "full jitter"
 * so a thousand agents that lost the control plane together do not return
 * together. `random` is injectable for tests.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random, options = { baseMs: 1000, maxMs: 30_000 }): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  // Never below half the ceiling: fully random delays can hammer a recovering server with near-zero waits.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Sleeps, or returns early (false) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
