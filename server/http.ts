import { randomUUID } from "node:crypto";
import http from "node:http";
import next from "next";
import { CLIENT_ADDRESS_HEADER, REQUEST_ID_HEADER } from "@/lib/auth/actor";
import { logger } from "@/lib/observability/logger";
import { matchNodeRoute } from "./routes";
import { createUploadServer } from "./uploads";
import { sweepOfflineServers } from "@/lib/fleet/agent-channel";
import { readSettings } from "@/lib/config/settings";
import { flushInferenceLog, purgeInferenceLog } from "@/lib/gateway/access-log";
import { applyAuditRetention } from "@/lib/audit/retention";
import { startAuditSequencer } from "@/lib/audit/sequencer";
import { countHttpRequest } from "@/lib/gateway/metrics";
import { closeIdlePools } from "@/lib/gateway/proxy";
import { serveDownloads } from "./downloads";
import { startFleetListener, stopFleetListener } from "@/lib/fleet/fleet-listener";
import { startWebhookWorker } from "@/lib/webhooks/worker";

/**
 * The small Node server in front of Next's request handler (DESIGN.md, "Hot
 * paths"). It stamps every request with a request id and the caller's
 * address, answers the paths that carry bytes itself (server/routes.ts), and
 * hands everything else to Next.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function clientAddress(req: http.IncomingMessage): string {
  const forwarded = process.env.BERTH_TRUST_PROXY === "1" ? req.headers["x-forwarded-for"] : undefined;
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  const address = first || req.socket.remoteAddress || "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * What every request goes through: the two trusted headers, then a Node
 * route (server/routes.ts) or `fallback` (Next). Integration tests use it
 * with a fallback that answers 404, to run the real server without a Next build.
 */
export type AccessLogLine = { requestId: string; method: string; path: string; status: number; ms: number; handler: "gateway" | "node" | "next" };

// Every agent heartbeats every few seconds and every inference call is in the
// inference log already: those lines go to debug, so info stays readable at 10,000 agents.
const QUIET_PREFIXES = ["/api/v1/agent/", "/api/v1/infer/", "/api/health"];

function logAccess(line: AccessLogLine) {
  const quiet = line.status < 400 && QUIET_PREFIXES.some((prefix) => line.path.startsWith(prefix));
  logger[quiet ? "debug" : line.status >= 500 ? "error" : "info"](line, "request");
}

export function berthRequestListener(options: {
  uploads: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  fallback: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** One structured line per request, with the request id the audit events carry. */
  accessLog?: (line: AccessLogLine) => void;
}): http.RequestListener {
  const accessLog = options.accessLog ?? logAccess;
  return (req, res) => {
    const started = performance.now();
    // Only this server may set these: a client-sent value would forge the audit trail.
    delete req.headers[CLIENT_ADDRESS_HEADER];
    const incoming = req.headers[REQUEST_ID_HEADER];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.headers[REQUEST_ID_HEADER] = requestId;
    req.headers[CLIENT_ADDRESS_HEADER] = clientAddress(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const route = matchNodeRoute(req, options.uploads);
    // The gateway counts its own requests (with its metrics); the rest are counted here.
    const handler = route?.kind === "gateway" ? "gateway" : route ? "node" : "next";
    if (handler !== "gateway") res.once("finish", () => countHttpRequest(handler, res.statusCode));
    res.once("close", () =>
      accessLog({
        requestId,
        method: req.method ?? "GET",
        // The path only: query strings can carry filters worth keeping out of logs, and enrolment commands carry tokens in bodies, never here.
        path: (req.url ?? "/").split("?")[0]!,
        status: res.writableFinished ? res.statusCode : 499,
        ms: Math.round((performance.now() - started) * 10) / 10,
        handler,
      }),
    );
    if (route) void route.run(res);
    else options.fallback(req, res);
  };
}

export async function startHttpServer(options: { root: string; dev: boolean; host: string; port: number }) {
  const app = next({ dev: options.dev, dir: options.root, hostname: options.host, port: options.port });
  await app.prepare();
  const handleWithNext = app.getRequestHandler();
  // Desired-state wake-ups and credential evictions from every replica (this one included).
  await startFleetListener();
  const uploads = createUploadServer();
  const sweep = setInterval(() => {
    uploads.cleanUpExpired().catch((error: unknown) => logger.warn({ err: error }, "could not clean up expired uploads"));
  }, 3_600_000);
  sweep.unref();
  // Servers whose heartbeats stopped become offline (and say so in the audit log).
  const offline = setInterval(() => {
    sweepOfflineServers().catch((error: unknown) => logger.warn({ err: error }, "offline detection failed"));
  }, 5_000);
  offline.unref();
  // Audit events that committed transactions recorded go into the hash chain in batches (lib/audit/sequencer.ts).
  startAuditSequencer();
  // Webhook deliveries: woken by the NOTIFY of each event's transaction, polled for retries (docs/webhooks.md).
  const webhooks = await startWebhookWorker();
  // The inference access log keeps BERTH_INFERENCE_LOG_RETENTION_DAYS; idle upstream pools are closed.
  const retention = setInterval(() => {
    purgeInferenceLog({ olderThanDays: readSettings().inferenceLogRetentionDays }).catch((error: unknown) => logger.warn({ err: error }, "could not purge the inference log"));
    closeIdlePools().catch(() => {});
  }, 3_600_000);
  retention.unref();
  // The audit log keeps BERTH_AUDIT_RETENTION_DAYS (forever when unset), purged through its one audited path.
  const auditRetention = () =>
    applyAuditRetention({ days: readSettings().auditRetentionDays }).catch((error: unknown) => logger.error({ err: error }, "could not apply the audit log retention"));
  setInterval(auditRetention, 3_600_000).unref();
  void auditRetention();
  void purgeInferenceLog({ olderThanDays: readSettings().inferenceLogRetentionDays }).catch((error: unknown) => logger.warn({ err: error }, "could not purge the inference log"));
  await uploads.cleanUpExpired().catch(() => 0);

  const downloads = serveDownloads({ root: options.root, dataDir: readSettings().dataDir });
  const server = http.createServer(
    berthRequestListener({
      uploads: uploads.handler,
      fallback: (req, res) => {
        if (!downloads(req, res)) void handleWithNext(req, res);
      },
    }),
  );
  server.keepAliveTimeout = 65_000;
  // Multi-gigabyte uploads take longer than Node's default 5-minute request timeout.
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new Error(`port ${options.port} on ${options.host} is already in use; set BERTH_PORT to another port`)
          : error,
      ),
    );
    // Every agent holds a connection; after a restart or a network blip thousands reconnect at
    // once, and Node's default accept backlog (511) drops their SYNs (seconds of retransmits).
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await flushInferenceLog();
      await webhooks.stop();
      await stopFleetListener();
    },
  };
}
