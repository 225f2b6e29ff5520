import { randomUUID } from "node:crypto";
import { z } from "zod";
import { recordStandaloneAuditEvent } from "@/lib/audit/record-event";
import { auditActor, requestContextFrom, type Actor, type RequestContext } from "@/lib/auth/actor";
import { authenticate, parseCookieHeader } from "@/lib/auth/authenticate";
import { can, type Permission } from "@/lib/auth/roles";
import { readSettings } from "@/lib/config/settings";
import { logger } from "@/lib/observability/logger";
import { BerthError, errorBody, fromPrismaError } from "./errors";
import { readJsonBody, searchParamsObject, validate } from "./parse";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * One API operation: what the route file serves and what /api/v1/openapi.json
 * documents come from this same object, so the two cannot drift.
 */
export type ApiSpec<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  P extends z.ZodType | undefined = z.ZodType | undefined,
  Pm extends Permission | "public" = Permission | "public",
> = {
  method: HttpMethod;
  /** OpenAPI form, `{id}` for path parameters. */
  path: string;
  summary: string;
  tag: string;
  /** Who may call. `public` routes skip authentication (health, first-run setup). */
  permission: Pm;
  /** Audit action recorded for a refusal of this call; mutations also record it on success, in lib/. */
  action?: string;
  body?: B;
  query?: Q;
  params?: P;
  response: z.ZodType;
  status?: number;
  description?: string;
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
  Pm extends Permission | "public" = Permission | "public",
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

async function auditRefusal(options: {
  spec: { method: HttpMethod; path: string; action?: string };
  request: RequestContext;
  actor: Actor | null;
  outcome: "DENIED" | "FAILURE";
  reason: string;
  url: URL;
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
    details: { reason: options.reason, path: options.url.pathname.slice(0, 500) },
  });
}

/**
 * Wraps a route handler: request id, who is calling (before anything else),
 * permission, strict parsing of params, query and body, one call into lib/,
 * and one wire shape for every error. Refusals (401, 403, and 4xx on
 * mutations) are written to the audit log.
 */
export function handle<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined, Pm extends Permission | "public">(
  spec: ApiSpec<B, Q, P, Pm>,
  run: (ctx: ApiContext<B, Q, P, Pm>) => Promise<unknown>,
): (req: Request, route: { params: Promise<Record<string, string | string[]>> }) => Promise<Response> {
  return async (req, route) => {
    const request = requestContextFrom(req.headers);
    request.requestId ??= randomUUID();
    const url = new URL(req.url);
    let actor: Actor | null = null;
    try {
      if (spec.permission !== "public") {
        const auth = await authenticate({ authorization: req.headers.get("authorization"), cookies: parseCookieHeader(req.headers.get("cookie")) });
        if (!auth.ok) {
          await auditRefusal({ spec, request, actor: null, outcome: "DENIED", reason: auth.reason, url, tokenId: auth.tokenId });
          return errorResponse(new BerthError("unauthenticated", auth.message), request.requestId);
        }
        actor = auth.actor;
        if (!can(actor.role, spec.permission as Permission)) {
          await auditRefusal({ spec, request, actor, outcome: "DENIED", reason: `needs ${spec.permission}`, url });
          return errorResponse(new BerthError("forbidden", `Your role (${actor.role}) does not allow this; it needs the ${spec.permission} permission`), request.requestId);
        }
      }
      const settings = readSettings();
      const params = spec.params ? validate(spec.params, await route.params, "path") : undefined;
      const query = spec.query ? validate(spec.query, searchParamsObject(url), "query string") : undefined;
      const body = spec.body ? validate(spec.body, await readJsonBody(req, settings.maxJsonBodyBytes), "request body") : undefined;
      const result = await run({ actor, request, body, query, params, raw: req } as ApiContext<B, Q, P, Pm>);
      if (result instanceof Response) return result;
      return json(result, { status: spec.status ?? 200, headers: { "x-request-id": request.requestId } });
    } catch (caught) {
      const error = caught instanceof BerthError ? caught : fromPrismaError(caught, "The record");
      if (error) {
        const denied = error.code === "forbidden" || error.code === "unauthenticated";
        if (denied || (MUTATING.has(spec.method) && spec.action)) {
          await auditRefusal({ spec, request, actor, outcome: denied ? "DENIED" : "FAILURE", reason: error.code, url }).catch((auditError) =>
            logger.error({ err: auditError, requestId: request.requestId }, "could not audit a refused request"),
          );
        }
        return errorResponse(error, request.requestId);
      }
      logger.error({ err: caught, requestId: request.requestId, path: url.pathname }, "unhandled error in API route");
      return errorResponse(new BerthError("internal", `Internal error; quote request id ${request.requestId} when reporting it`), request.requestId);
    }
  };
}

export const ZErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
