import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import { Pool } from "undici";
import { BerthError } from "@/lib/http/errors";
import type { RoutedReplica } from "./routing";

/**
 * Forwards one request to a replica and streams the answer back, trying the
 * next replica only when that is safe: the connection failed before the
 * replica read a byte of the request body (refused, reset, connect timeout),
 * or the request has no body (GET, HEAD). Bodies are never buffered: the
 * client's request streams to the replica, the replica's response streams
 * to the client.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"]);
// Never sent upstream: the caller's Berth credentials and the headers only Berth's own server sets.
const PRIVATE_REQUEST_HEADERS = new Set(["authorization", "cookie", "host", "x-berth-client-address", "x-forwarded-for"]);

const RETRYABLE_CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

type PoolHolder = { pools: Map<string, { pool: Pool; usedAt: number }> };
const holder = globalThis as unknown as { __berthGatewayPools?: PoolHolder };
function pools(): PoolHolder {
  holder.__berthGatewayPools ??= { pools: new Map() };
  return holder.__berthGatewayPools;
}

/** One keep-alive undici Pool per replica endpoint. */
function poolFor(endpoint: string): Pool {
  const map = pools().pools;
  let entry = map.get(endpoint);
  if (!entry) {
    entry = { pool: new Pool(new URL(endpoint).origin, { connections: 128, keepAliveTimeout: 30_000, connectTimeout: 5_000 }), usedAt: Date.now() };
    map.set(endpoint, entry);
  }
  entry.usedAt = Date.now();
  return entry.pool;
}

/** Closes pools not used for `idleMs` (replicas that went away). */
export async function closeIdlePools(idleMs = 300_000): Promise<number> {
  const map = pools().pools;
  const stale = [...map].filter(([, e]) => Date.now() - e.usedAt > idleMs);
  for (const [endpoint] of stale) map.delete(endpoint);
  await Promise.all(stale.map(([, e]) => e.pool.close().catch(() => {})));
  return stale.length;
}

export async function closeAllPools(): Promise<void> {
  const map = pools().pools;
  const all = [...map.values()];
  map.clear();
  await Promise.all(all.map((e) => e.pool.destroy().catch(() => {})));
}

/** What the client sent, counted as it streams, shared by every attempt. */
type BodyTally = { started: boolean; bytes: number; tooLarge: boolean };

/**
 * A fresh stream for one attempt that pulls from the client's request only
 * once the upstream connection asks for bytes. When an attempt fails before
 * that (connection refused), `tally.started` is still false, the client's
 * stream is untouched, and the next attempt can send the whole body.
 * Destroying it (undici does on error) detaches without destroying `req`.
 */
function attemptBody(req: IncomingMessage, tally: BodyTally, limit: number): Readable {
  let attached = false;
  const onData = (chunk: Buffer) => {
    tally.bytes += chunk.length;
    if (tally.bytes > limit) {
      tally.tooLarge = true;
      out.destroy(new BerthError("payload_too_large", `Request body exceeds the limit of ${limit} bytes (BERTH_INFERENCE_MAX_BODY_BYTES)`, { limit }));
      return;
    }
    if (!out.push(chunk)) req.pause();
  };
  const onEnd = () => out.push(null);
  const onError = (error: Error) => out.destroy(error);
  const detach = () => {
    req.off("data", onData);
    req.off("end", onEnd);
    req.off("error", onError);
    req.pause();
  };
  const out = new Readable({
    read() {
      if (!attached) {
        attached = true;
        tally.started = true;
        req.on("data", onData);
        req.once("end", onEnd);
        req.once("error", onError);
      }
      req.resume();
    },
    destroy(error, callback) {
      detach();
      callback(error);
    },
  });
  return out;
}

function forwardedHeaders(headers: IncomingHttpHeaders, clientAddress: string | null): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || PRIVATE_REQUEST_HEADERS.has(name)) continue;
    out[name] = value;
  }
  if (clientAddress) out["x-forwarded-for"] = clientAddress;
  return out;
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === "set-cookie") continue;
    out[name] = value;
  }
  return out;
}

/** Filled in as the request goes: the access log reads it whether forwarding succeeded or not. */
export type ForwardStats = { replicaId: string | null; requestBytes: number; responseBytes: number; attempts: number };

function codeOf(error: unknown): string | undefined {
  const direct = (error as { code?: unknown } | null)?.code;
  if (typeof direct === "string") return direct;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === "string" ? cause : undefined;
}

/**
 * Sends the request to the first replica that answers, in `replicas` order,
 * and streams the response to `res`. Throws a BerthError (413, 502, 504)
 * when no response could be started; once the response has begun, a failure
 * ends the client's connection (there is no way to say so in HTTP/1.1).
 */
export async function forwardRequest(options: {
  req: IncomingMessage;
  res: ServerResponse;
  replicas: readonly RoutedReplica[];
  /** Upstream path with its query string. */
  path: string;
  maxBodyBytes: number;
  timeoutMs: number;
  clientAddress: string | null;
  /** Extra response headers (x-request-id). */
  extraHeaders: Record<string, string>;
  stats: ForwardStats;
}): Promise<void> {
  const { req, res } = options;
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD" && (req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0);
  const tally: BodyTally = { started: false, bytes: 0, tooLarge: false };
  const { stats } = options;
  const headers = forwardedHeaders(req.headers, options.clientAddress);
  // undici takes an EventEmitter as its abort signal: far cheaper per request than an AbortController.
  const abort = Object.assign(new EventEmitter(), { aborted: false });
  const onClientGone = () => {
    if (res.writableFinished || abort.aborted) return;
    abort.aborted = true;
    abort.emit("abort");
  };
  res.once("close", onClientGone);
  let attempts = 0;
  let lastError: unknown;
  try {
    for (const replica of options.replicas) {
      attempts++;
      stats.attempts = attempts;
      stats.replicaId = replica.id;
      let upstream;
      try {
        upstream = await poolFor(replica.endpoint).request({
          path: options.path,
          method: method as "GET",
          headers,
          body: hasBody ? attemptBody(req, tally, options.maxBodyBytes) : null,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
          signal: abort,
        });
      } catch (error) {
        lastError = error;
        if (tally.tooLarge) throw new BerthError("payload_too_large", `Request body exceeds the limit of ${options.maxBodyBytes} bytes (BERTH_INFERENCE_MAX_BODY_BYTES)`, { limit: options.maxBodyBytes });
        if (abort.aborted) throw new BerthError("bad_gateway", "The client went away");
        const code = codeOf(error);
        if (code === "UND_ERR_HEADERS_TIMEOUT") {
          throw new BerthError("gateway_timeout", `The replica did not answer within ${Math.round(options.timeoutMs / 1000)} s (BERTH_INFERENCE_TIMEOUT_SECONDS)`, { replica: replica.id });
        }
        const safe = code !== undefined && RETRYABLE_CONNECTION_ERRORS.has(code) && (!tally.started || !hasBody);
        if (safe) continue;
        throw new BerthError("bad_gateway", `The replica failed before answering (${code ?? "error"})`, { replica: replica.id, code: code ?? null });
      }
      upstream.body.on("data", (chunk: Buffer) => (stats.responseBytes += chunk.length));
      res.writeHead(upstream.statusCode, { ...responseHeaders(upstream.headers), ...options.extraHeaders, "x-berth-replica": replica.id });
      // pipe, not stream.pipeline: pipeline builds an AbortController and a DOMException
      // per call, which bench/gateway measured as a visible share of the gateway's CPU.
      const body = upstream.body;
      await new Promise<void>((resolve) => {
        body.once("error", () => {
          res.destroy(); // the response had begun: all that is left is to end the connection
          resolve();
        });
        res.once("finish", () => resolve());
        res.once("close", () => {
          if (!body.destroyed && !body.readableEnded) body.destroy();
          resolve();
        });
        body.pipe(res);
      });
      // The replica may answer before reading the whole body (an early error): drain what is left.
      if (hasBody && !req.readableEnded && !req.destroyed) req.resume();
      return;
    }
    throw new BerthError("bad_gateway", `No replica answered: ${attempts} tried (${codeOf(lastError) ?? "error"})`, { attempts, code: codeOf(lastError) ?? null });
  } finally {
    stats.requestBytes = tally.bytes;
    res.off("close", onClientGone);
  }
}
