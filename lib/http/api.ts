import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordStandaloneAuditEvent } from "@/lib/audit/record-event";
import { auditActor, requestContextFrom, type Actor, type RequestContext } from "@/lib/auth/actor";
import { authenticate, parseCookieHeader } from "@/lib/auth/authenticate";
import { can, type Permission } from "@/lib/auth/roles";
import { authenticateAgent } from "@/lib/fleet/agent-channel";
import { readSettings } from "@/lib/config/settings";
import { logger } from "@/lib/observability/logger";
import { BerthError, errorBody, fromPrismaError } from "./errors";
import { readJsonBody, searchParamsObject, validate } from "./parse";

export type HttpMethod = "get" | "head" | "post" | "put" | "patch" | "delete";

/**
 * One API operation: what the route file serves and what /api/v1/openapi.json
 * documents come from this same object, so the two cannot drift.
 */
export type ApiSpec<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Pm extends Permission | "public" | "agent" = Permission | "public" | "agent",
> = {
  method: HttpMethod;
  /** OpenAPI form, `{id}` for path parameters. */
  path: string;
  summary: string;
  tag: string;
  /** Who may call. `public` routes skip authentication (health, first-run setup); `agent` routes take a host agent's credential. */
  permission: Pm;
  /** Audit action recorded for a refusal of this call; mutations also record it on success, in lib/. */
  action?: string;
  body?: B;
  query?: Q;
  params?: P;
  response: z.ZodType;
  status?: number;
  description?: string;
  /** A raw (non-JSON) request body, streamed: artifact uploads. */
  rawBody?: { contentType: string; description: string };
  /** A raw response body, streamed: artifact downloads. */
  rawResponse?: { contentType: string; description: string };
  /** Extra statuses worth documenting, e.g. 206, 416, 507. */
  extraResponses?: Record<number, string>;
};

type Infer<T> = [T] extends [z.ZodType] ? z.infer<T> : undefined;

export type ApiContext<B, Q, P, Pm> = {
  actor: [Pm] extends ["public"] ? Actor | null : Actor;
  request: RequestContext;
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
  raw: Request;
};

export function defineApi<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  Pm extends Permission | "public" | "agent" = Permission | "public" | "agent",
>(spec: ApiSpec<B, Q, P, Pm>): ApiSpec<B, Q, P, Pm> {
  return spec;
}

export function json(data: unknown, init?: { status?: number; headers?: Record<string, string> }): Response {
  return new Response(JSON.stringify(data), {
    status: init?.status ?? 200,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...init?.headers },
  });
}

function errorResponse(error: BerthError, requestId: string | null): Response {
  return json(errorBody(error), { status: error.status, headers: requestId ? { "x-request-id": requestId } : {} });
}

const MUTATING = new Set(["post", "put", "patch", "delete"]);

export async function auditRefusal(options: {
  spec: { method: HttpMethod; path: string; action?: string };
  request: RequestContext;
  actor: Actor | null;
  outcome: "DENIED" | "FAILURE";
  reason: string;
  path: string;
  tokenId?: string;
}) {
  await recordStandaloneAuditEvent({
    actor: options.actor
      ? auditActor(options.actor)
      : options.tokenId
        ? { kind: "API_TOKEN", id: options.tokenId, label: "api token (refused)" }
        : { kind: "ANONYMOUS", id: null, label: "anonymous" },
    request: options.request,
    action: options.spec.action ?? "api.request",
    outcome: options.outcome,
    target: { kind: "route", label: `${options.spec.method.toUpperCase()} ${options.spec.path}` },
    details: { reason: options.reason, path: options.path.slice(0, 500) },
  });
}

/**
 * Who is calling and may they: the first thing every API call does, shared
 * by Next route handlers (`handle`) and the Node handlers of the hot paths
 * (`lib/http/node-api.ts`). A refusal is audited and comes back as the error
 * to render.
 */
export async function admit(options: {
  spec: Pick<ApiSpec, "method" | "path" | "action" | "permission">;
  headers: { authorization: string | null; cookie: string | null };
  request: RequestContext;
  path: string;
}): Promise<{ actor: Actor | null; error?: undefined } | { actor: null; error: BerthError }> {
  const { spec } = options;
  if (spec.permission === "public") return { actor: null };
  if (spec.permission === "agent") {
    const result = await authenticateAgent(options.headers.authorization);
    if (!result.ok) {
      await auditRefusal({ spec, request: options.request, actor: null, outcome: "DENIED", reason: result.reason, path: options.path });
      return { actor: null, error: new BerthError("unauthenticated", "This agent's credential is not valid (the server may have been removed); enrol it again with a new token") };
    }
    const { agent } = result;
    return { actor: { kind: "AGENT", id: agent.id, label: agent.label, role: "VIEWER", userId: null, serverId: agent.serverId, serverName: agent.serverName } };
  }
  const auth = await authenticate({ authorization: options.headers.authorization, cookies: parseCookieHeader(options.headers.cookie) });
  if (!auth.ok) {
    await auditRefusal({ spec, request: options.request, actor: null, outcome: "DENIED", reason: auth.reason, path: options.path, tokenId: auth.tokenId });
    return { actor: null, error: new BerthError("unauthenticated", auth.message) };
  }
  if (!can(auth.actor.role, spec.permission)) {
    await auditRefusal({ spec, request: options.request, actor: auth.actor, outcome: "DENIED", reason: `needs ${spec.permission}`, path: options.path });
    return { actor: null, error: new BerthError("forbidden", `Your role (${auth.actor.role}) does not allow this; it needs the ${spec.permission} permission`) };
  }
  return { actor: auth.actor };
}

/**
 * Turns anything thrown by a handler into the error to send, auditing
 * refusals: 401/403 as DENIED, other refused mutations as FAILURE. Unknown
 * errors are logged with the request id and become a 500 that quotes it.
 */
export async function errorFor(options: {
  caught: unknown;
  spec: { method: HttpMethod; path: string; action?: string };
  request: RequestContext & { requestId: string };
  actor: Actor | null;
  path: string;
}): Promise<BerthError> {
  const { caught, spec, request, actor } = options;
  const error = caught instanceof BerthError ? caught : fromPrismaError(caught, "The record");
  if (error) {
    const denied = error.code === "forbidden" || error.code === "unauthenticated";
    if (!error.audited && (denied || (MUTATING.has(spec.method) && spec.action))) {
      await auditRefusal({ spec, request, actor, outcome: denied ? "DENIED" : "FAILURE", reason: error.code, path: options.path }).catch((auditError) =>
        logger.error({ err: auditError, requestId: request.requestId }, "could not audit a refused request"),
      );
    }
    return error;
  }
  logger.error({ err: caught, requestId: request.requestId, path: options.path }, "unhandled error in API route");
  return new BerthError("internal", `Internal error; quote request id ${request.requestId} when reporting it`);
}

/**
 * Wraps a route handler: request id, who is calling (before anything else),
 * permission, strict parsing of params, query and body, one call into lib/,
 * and one wire shape for every error. Refusals (401, 403, and 4xx on
 * mutations) are written to the audit log.
 */
export function handle<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined, Pm extends Permission | "public" | "agent">(
  spec: ApiSpec<B, Q, P, Pm>,
  run: (ctx: ApiContext<B, Q, P, Pm>) => Promise<unknown>,
): (req: Request, route: { params: Promise<Record<string, string | string[]>> }) => Promise<Response> {
  return async (req, route) => {
    const context = requestContextFrom(req.headers);
    const request = { ...context, requestId: context.requestId ?? randomUUID() };
    const url = new URL(req.url);
    let actor: Actor | null = null;
    try {
      const admitted = await admit({
        spec,
        headers: { authorization: req.headers.get("authorization"), cookie: req.headers.get("cookie") },
        request,
        path: url.pathname,
      });
      if (admitted.error) return errorResponse(admitted.error, request.requestId);
      actor = admitted.actor;
      const settings = readSettings();
      const params = spec.params ? validate(spec.params, await route.params, "path") : undefined;
      const query = spec.query ? validate(spec.query, searchParamsObject(url), "query string") : undefined;
      const body = spec.body ? validate(spec.body, await readJsonBody(req, settings.maxJsonBodyBytes), "request body") : undefined;
      const result = await run({ actor, request, body, query, params, raw: req } as ApiContext<B, Q, P, Pm>);
      if (result instanceof Response) return result;
      return json(result, { status: spec.status ?? 200, headers: { "x-request-id": request.requestId } });
    } catch (caught) {
      return errorResponse(await errorFor({ caught, spec, request, actor, path: url.pathname }), request.requestId);
    }
  };
}

export const ZErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
