import { BerthError } from "@/lib/http/errors";
import { handleNode, sendJson } from "@/lib/http/node-api";
import { prometheusText, recentWindows } from "@/lib/gateway/metrics";
import { routesFor } from "@/lib/gateway/routing";
import { prometheusMetrics } from "@/app/api/metrics/schemas";
import { deploymentMetricsApi } from "@/app/api/v1/deployments/[name]/metrics/schemas";

/**
 * Metrics are kept in this process's memory, beside the gateway that counts
 * them, so they are answered here rather than by Next.
 */
export const metricsText = handleNode(prometheusMetrics, async ({ res }) => {
  const { contentType, body } = await prometheusText();
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(body);
});

export const deploymentMetrics = handleNode(deploymentMetricsApi, async ({ params, res }) => {
  const routes = await routesFor(params.name);
  if (!routes) throw new BerthError("not_found", `No deployment called ${params.name}`);
  sendJson(res, 200, recentWindows(routes.name));
});
