import type { IncomingMessage, ServerResponse } from "node:http";
import { CLIENT_ADDRESS_HEADER, REQUEST_ID_HEADER } from "@/lib/auth/actor";
import { readSettings, type BerthSettings } from "@/lib/config/settings";
import { BerthError } from "@/lib/http/errors";
import { sendError } from "@/lib/http/node-api";
import { logger } from "@/lib/observability/logger";
import { admitInference, type InferenceCaller } from "@/lib/gateway/admit";
import { logInference } from "@/lib/gateway/access-log";
import { countHttpRequest, recordInference } from "@/lib/gateway/metrics";
import { matchInferencePath } from "@/lib/gateway/paths";
import { forwardRequest, type ForwardStats } from "@/lib/gateway/proxy";
import { replicaOrder, routesFor, type DeploymentRoutes } from "@/lib/gateway/routing";

/**
 * The inference gateway: `/api/v1/infer/{deployment}/{path}` for any method,
 * answered here, ahead of Next (DESIGN.md, "Hot paths"). Order: who is
 * calling (before anything else), which deployment, which path, then the
 * request is forwarded to a ready replica (lib/gateway/proxy.ts). Every
 * request that names a known deployment goes to the access log and the
 * metrics once it has finished.
 */
export const GATEWAY_PREFIX = "/api/v1/infer/";

const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A refusal keeps the client's connection when the body it did not read is at most this (Node reads and drops it). */
const KEEP_ALIVE_UNREAD_BYTES = 64 * 1024;

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

/** Splits "/api/v1/infer/{deployment}/{rest}?{query}". */
function splitTarget(url: string): { deployment: string; rest: string; search: string } | null {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? "" : url.slice(q);
  const tail = pathname.slice(GATEWAY_PREFIX.length);
  const slash = tail.indexOf("/");
  const deployment = slash < 0 ? tail : tail.slice(0, slash);
  if (!DEPLOYMENT_NAME.test(deployment)) return null;
  return { deployment, rest: slash < 0 ? "" : tail.slice(slash + 1), search };
}

// Read once: readSettings() resolves paths and parses every variable (process.env reads are
// not free), which showed in bench/gateway's profile when done per request.
let settingsMemo: BerthSettings | undefined;
function gatewaySettings(): BerthSettings {
  return (settingsMemo ??= readSettings());
}

/** Re-reads the gateway's settings from the environment (tests change them). */
export function reloadGatewaySettings(): void {
  settingsMemo = undefined;
}

export async function handleInference(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const at = new Date();
  const requestId = header(req, REQUEST_ID_HEADER);
  const clientAddress = header(req, CLIENT_ADDRESS_HEADER);
  const request = { requestId, sourceAddress: clientAddress, userAgent: header(req, "user-agent")?.slice(0, 300) ?? null };
  const url = req.url ?? "/";
  const method = req.method ?? "GET";
  let routes: DeploymentRoutes | null = null;
  let caller: InferenceCaller | null = null;
  const stats: ForwardStats = { replicaId: null, requestBytes: 0, responseBytes: 0, attempts: 0 };
  try {
    const admitted = await admitInference({ authorization: header(req, "authorization"), cookie: header(req, "cookie"), request, path: url.split("?")[0]! });
    if (admitted.error) throw admitted.error;
    caller = admitted.caller;
    const target = splitTarget(url);
    if (!target) throw new BerthError("not_found", "Use /api/v1/infer/{deployment}/{path}, for example /api/v1/infer/iris/v2/models/iris/infer");
    routes = await routesFor(target.deployment);
    if (!routes) throw new BerthError("not_found", `No deployment called ${target.deployment}`);
    const matched = matchInferencePath(routes.protocol, target.rest, method);
    if (!matched.ok) {
      if (matched.reason === "method_not_allowed") throw new BerthError("method_not_allowed", `${method} is not allowed on ${target.rest}; use ${matched.allowed.join(" or ")}`, { allowed: matched.allowed });
      throw new BerthError(
        "not_found",
        matched.allowed.length === 0
          ? `The gateway does not forward to ${routes.protocol} runtimes; call the replica directly`
          : `The gateway does not forward ${target.rest || "(empty path)"} to ${routes.protocol} runtimes`,
        { protocol: routes.protocol, allowed: matched.allowed },
      );
    }
    if (routes.desiredState !== "RUNNING") throw new BerthError("unavailable", `Deployment ${routes.name} is ${routes.desiredState.toLowerCase()}; start it to send requests`);
    const settings = gatewaySettings();
    const declared = Number(req.headers["content-length"] ?? "NaN");
    if (Number.isFinite(declared) && declared > settings.inferenceMaxBodyBytes) {
      throw new BerthError("payload_too_large", `Request body is ${declared} bytes; the limit is ${settings.inferenceMaxBodyBytes} (BERTH_INFERENCE_MAX_BODY_BYTES)`, { limit: settings.inferenceMaxBodyBytes });
    }
    const replicas = replicaOrder(routes);
    if (replicas.length === 0) throw new BerthError("unavailable", `Deployment ${routes.name} has no ready replica right now; see its page for the replicas' state`);
    await forwardRequest({
      req,
      res,
      replicas,
      path: `${matched.path.upstreamPath}${target.search}`,
      maxBodyBytes: settings.inferenceMaxBodyBytes,
      timeoutMs: settings.inferenceTimeoutMs,
      clientAddress,
      extraHeaders: requestId ? { "x-request-id": requestId } : {},
      stats,
    });
  } catch (caught) {
    const error = caught instanceof BerthError ? caught : new BerthError("internal", `Internal error; quote request id ${requestId ?? "(none)"} when reporting it`);
    if (!(caught instanceof BerthError)) logger.error({ err: caught, requestId }, "unhandled error in the inference gateway");
    // Clients retry a 503 (no replica ready yet); with a small body they keep their connection to do it.
    const declared = req.headers["transfer-encoding"] === undefined ? Number(req.headers["content-length"] ?? 0) : NaN;
    sendError(res, error, { keepAlive: error.code !== "payload_too_large" && Number.isFinite(declared) && declared <= KEEP_ALIVE_UNREAD_BYTES });
  } finally {
    const status = res.headersSent ? res.statusCode : 0;
    countHttpRequest("gateway", status);
    if (routes) {
      const done = () => {
        const latencyMs = performance.now() - started;
        recordInference({ deployment: routes!.name, status: res.statusCode, latencyMs });
        logInference({
          at,
          deploymentId: routes!.id,
          deploymentName: routes!.name,
          replicaId: stats.replicaId,
          tokenId: caller?.tokenId ?? null,
          tokenLabel: caller?.label ?? null,
          clientAddress,
          method,
          path: url.split("?")[0]!.slice(0, 1000),
          status: res.statusCode,
          latencyMs,
          requestBytes: stats.requestBytes,
          responseBytes: stats.responseBytes,
          requestId,
        });
      };
      if (res.writableFinished || res.destroyed) done();
      else res.once("close", done);
    }
  }
}
