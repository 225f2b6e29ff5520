/** How often agents report, and how many missed reports make a server offline. */
export function fleetTiming(env: NodeJS.ProcessEnv = process.env) {
  const heartbeatSeconds = Math.max(1, Number(env.BERTH_HEARTBEAT_SECONDS) || 10);
  const offlineAfterSeconds = Math.max(heartbeatSeconds * 2, Number(env.BERTH_OFFLINE_AFTER_SECONDS) || heartbeatSeconds * 3);
  return { heartbeatSeconds, offlineAfterSeconds };
}
