import type { IncomingMessage, ServerResponse } from "node:http";
import type { ApiSpec } from "@/lib/http/api";
import type { NodeHandler } from "@/lib/http/node-api";
import { uploadVersionApi } from "@/app/api/v1/models/[name]/versions/schemas";
import { downloadArtifactApi, headArtifactApi } from "@/app/api/v1/models/[name]/versions/[version]/schemas";
import { createUploadApi, deleteUploadApi, headUploadApi, patchUploadApi } from "@/app/api/v1/uploads/schemas";
import { agentArtifactApi, desiredStateApi, enrolApi, heartbeatApi, rotateCredentialApi, runtimeImageApi, statusReportApi } from "@/app/api/v1/agent/schemas";
import { downloadArtifact, headArtifact, uploadVersion } from "./artifacts";
import { agentArtifact, desiredState, enrol, heartbeat, rotateCredential, runtimeImage, statusReport } from "./agent-routes";
import { UPLOADS_PATH } from "./uploads";
import { GATEWAY_PREFIX, handleInference } from "./gateway";
import { deploymentMetrics, metricsText } from "./metrics-routes";
import { prometheusMetrics } from "@/app/api/metrics/schemas";
import { deploymentMetricsApi } from "@/app/api/v1/deployments/[name]/metrics/schemas";
import { createDeploymentApi } from "@/app/api/v1/deployments/schemas";
import { createDeploymentRoute } from "./deployment-routes";
import { GATEWAY_SPECS } from "@/app/api/v1/infer/schemas";
import { exportAuditEventsApi } from "@/app/api/v1/audit/events/schemas";
import { exportAuditEvents } from "./audit-routes";
import { verifyAuditChainApi } from "@/app/api/v1/audit/verification/schemas";
import { verifyAuditChainRoute } from "./audit-verification-route";

/**
 * The paths answered here rather than by Next: the ones that carry bytes,
 * the agent channel (heartbeats and long-polls from every host), the audit
 * chain's live verification (worker threads), and the deployment create (the start of bench/deploy's create → first inference).
 * Each names the spec it serves, so the OpenAPI completeness test sees them.
 */
export type NodeRoute = { spec: ApiSpec; handler: NodeHandler };

export const NODE_ROUTES: NodeRoute[] = [
  { spec: uploadVersionApi, handler: uploadVersion },
  { spec: downloadArtifactApi, handler: downloadArtifact },
  { spec: headArtifactApi, handler: headArtifact },
  { spec: enrolApi, handler: enrol },
  { spec: heartbeatApi, handler: heartbeat },
  { spec: rotateCredentialApi, handler: rotateCredential },
  { spec: desiredStateApi, handler: desiredState },
  { spec: statusReportApi, handler: statusReport },
  { spec: agentArtifactApi, handler: agentArtifact },
  { spec: runtimeImageApi, handler: runtimeImage },
  { spec: prometheusMetrics, handler: metricsText },
  { spec: deploymentMetricsApi, handler: deploymentMetrics },
  { spec: exportAuditEventsApi, handler: exportAuditEvents },
  { spec: verifyAuditChainApi, handler: verifyAuditChainRoute },
  { spec: createDeploymentApi, handler: createDeploymentRoute },
];

/** tus owns everything under /api/v1/uploads; these specs document it. */
export const TUS_SPECS: ApiSpec[] = [createUploadApi, headUploadApi, patchUploadApi, deleteUploadApi];

/** The inference gateway owns everything under /api/v1/infer/ (any method); these specs document the paths it forwards. */
export { GATEWAY_PREFIX, GATEWAY_SPECS };

const compiled = NODE_ROUTES.map((route) => {
  const names: string[] = [];
  const pattern = route.spec.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { ...route, method: route.spec.method.toUpperCase(), regex: new RegExp(`^${pattern}$`), names };
});

/** The route for this request, with its decoded path parameters; undefined hands the request to Next. */
export function matchNodeRoute(req: IncomingMessage, uploads: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const url = req.url ?? "/";
  if (url.startsWith(GATEWAY_PREFIX)) return { kind: "gateway" as const, run: (res: ServerResponse) => handleInference(req, res) };
  const pathname = url.split("?")[0]!;
  if (pathname === UPLOADS_PATH || pathname.startsWith(`${UPLOADS_PATH}/`)) return { kind: "node" as const, run: (res: ServerResponse) => uploads(req, res) };
  for (const route of compiled) {
    if (route.method !== req.method) continue;
    const match = route.regex.exec(pathname);
    if (!match) continue;
    const params: Record<string, string> = {};
    route.names.forEach((name, i) => {
      const raw = match[i + 1]!;
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        params[name] = raw; // left undecoded, it fails the name checks and gets a 404
      }
    });
    return { kind: "node" as const, run: (res: ServerResponse) => route.handler(req, res, params) };
  }
  return undefined;
}
