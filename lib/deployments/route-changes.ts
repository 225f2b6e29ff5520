/**
 * Tells the inference gateway (in this process) that a deployment's set of
 * ready replicas changed, so it stops sending traffic to a replica the moment
 * it leaves rotation rather than when its routing cache expires. Other
 * control-plane processes notice within their cache's lifetime (1 s), and
 * the agent waits `drainSeconds` before stopping a container, which covers it.
 */
type Listener = (deploymentId: string) => void;

const holder = globalThis as unknown as { __berthRouteListeners?: Set<Listener> };
const listeners = (holder.__berthRouteListeners ??= new Set());

export function onDeploymentRoutesChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function deploymentRoutesChanged(deploymentId: string): void {
  for (const listener of listeners) listener(deploymentId);
}
