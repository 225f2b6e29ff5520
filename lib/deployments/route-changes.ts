import { invalidateDeploymentRoutes } from "@/lib/gateway/routing";

/**
 * Tells the inference gateway (in this process) that a deployment's set of
 * ready replicas changed, so it stops sending traffic to a replica the moment
 * it leaves rotation rather than when its routing cache expires. Other
 * control-plane processes notice within their cache's lifetime (1 s), and
 * the agent waits `drainSeconds` before stopping a container, which covers it.
 */
export function deploymentRoutesChanged(deploymentId: string): void {
  invalidateDeploymentRoutes(deploymentId);
}
