import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import type { z } from "zod";

/**
 * The agent's HTTP client: outbound only, the control plane's certificate
 * verified (against the system roots, or a site CA file for internal PKI),
 * bounded timeouts. Failures carry a kind the retry loop branches on, never
 * a message to match.
 */
export type FailureKind = "unreachable" | "tls" | "timeout" | "refused" | "server_error" | "rejected" | "bad_response";

export class ControlPlaneError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

function classify(error: unknown): ControlPlaneError {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code ?? "";
  const message = (error as Error).message ?? String(error);
  if (TLS_CODES.has(code)) return new ControlPlaneError("tls", `TLS verification failed (${code}); pass --ca-file for an internal CA`);
  if (code.startsWith("UND_ERR_") && code.includes("TIMEOUT")) return new ControlPlaneError("timeout", `no answer in time (${code})`);
  return new ControlPlaneError("unreachable", code ? `${code}` : message.slice(0, 200));
}

export type DownloadResponse = { status: 200 | 206; header: (name: string) => string | null; body: Readable };
export type AgentClient = ReturnType<typeof createClient>;

export function createClient(options: { url: string; caFile?: string }) {
  const base = options.url.replace(/\/+$/, "");
  const dispatcher: Dispatcher = new Agent({
    connect: { timeout: 10_000, ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}) },
    // Long-polls wait up to 25 s for their answer; anything slower is a fault.
    headersTimeout: 40_000,
    bodyTimeout: 40_000,
    keepAliveTimeout: 30_000,
  });

  async function call<S extends z.ZodType>(options: { method: "GET" | "POST"; path: string; credential?: string; body?: unknown; schema: S; signal?: AbortSignal }): Promise<z.infer<S>> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${base}${options.path}`, {
        dispatcher,
        method: options.method,
        signal: options.signal,
        headers: {
          accept: "application/json",
          ...(options.credential ? { authorization: `Bearer ${options.credential}` } : {}),
          ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw classify(error);
    }
    const text = await response.body.text().catch(() => "");
    if (response.statusCode >= 400) {
      let message = `HTTP ${response.statusCode}`;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* not JSON */
      }
      const kind: FailureKind = response.statusCode === 401 ? "refused" : response.statusCode >= 500 ? "server_error" : "rejected";
      throw new ControlPlaneError(kind, message, response.statusCode);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new ControlPlaneError("bad_response", "the control plane answered with something that is not JSON");
    }
    const parsed = options.schema.safeParse(payload);
    if (!parsed.success) throw new ControlPlaneError("bad_response", "the control plane's answer does not match the agent protocol (version skew?)");
    return parsed.data;
  }

  /**
   * A streaming GET on the same pool, TLS settings and timeouts as `call`:
   * the body is handed back unread (artifacts and image archives are streamed
   * to disk or to the Docker Engine, never held in memory). Any status but
   * 200 and 206 is a ControlPlaneError and its body is drained.
   */
  async function stream(options: { path: string; credential: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<DownloadResponse> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${base}${options.path}`, {
        dispatcher,
        method: "GET",
        signal: options.signal,
        headers: { authorization: `Bearer ${options.credential}`, ...options.headers },
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw classify(error);
    }
    if (response.statusCode !== 200 && response.statusCode !== 206) {
      const text = await response.body.text().catch(() => "");
      let message = `HTTP ${response.statusCode} for ${options.path}`;
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* not JSON */
      }
      const kind: FailureKind = response.statusCode === 401 ? "refused" : response.statusCode >= 500 ? "server_error" : "rejected";
      throw new ControlPlaneError(kind, message, response.statusCode);
    }
    const header = (name: string) => {
      const value = response.headers[name];
      return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
    };
    return { status: response.statusCode, header, body: response.body };
  }

  return { call, stream, close: () => dispatcher.close() };
}
