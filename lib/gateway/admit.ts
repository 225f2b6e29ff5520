import { createHash } from "node:crypto";
import type { RequestContext } from "@/lib/auth/actor";
import { authenticateBearer, tokenEpoch } from "@/lib/auth/api-tokens";
import { authenticate, authenticationMessage, parseCookieHeader } from "@/lib/auth/authenticate";
import { can } from "@/lib/auth/roles";
import { auditRefusal } from "@/lib/http/api";
import { BerthError } from "@/lib/http/errors";
import { INFERENCE_AUDIT_ACTION } from "./paths";

/**
 * Who may call the inference gateway: an API token with canInfer, or a
 * signed-in user whose role has the `inference` permission (the deployment
 * page's "Try it" panel). Refusals are audit events, as on every API route.
 *
 * Tokens are read through plain pg (authenticateBearer), and the gateway
 * remembers an admitted token for ADMITTED_TTL_MS by the SHA-256 of its
 * secret. Revoking any token drops the whole cache at once (tokenEpoch);
 * other changes (owner disabled, role lowered) take effect within that
 * second. Refusals are never cached.
 */
export const ADMITTED_TTL_MS = 1_000;

/** Audit target of every gateway refusal. */
export const GATEWAY_ROUTE = { method: "post" as const, path: "/api/v1/infer/{deployment}/{path}", action: INFERENCE_AUDIT_ACTION };

export type InferenceCaller = { tokenId: string | null; label: string };

type Cached = { caller: InferenceCaller; at: number; epoch: number };
const holder = globalThis as unknown as { __berthInferenceAdmitted?: Map<string, Cached>; __berthInferenceAdmitting?: Map<string, ReturnType<typeof authenticateBearer>> };
function admittedCache(): Map<string, Cached> {
  holder.__berthInferenceAdmitted ??= new Map();
  return holder.__berthInferenceAdmitted;
}

async function refuse(options: { request: RequestContext; path: string; reason: string; status: "unauthenticated" | "forbidden"; message: string; actor?: Parameters<typeof auditRefusal>[0]["actor"]; tokenId?: string }): Promise<BerthError> {
  await auditRefusal({
    spec: GATEWAY_ROUTE,
    request: options.request,
    actor: options.actor ?? null,
    outcome: "DENIED",
    reason: options.reason,
    path: options.path,
    tokenId: options.tokenId,
  });
  return new BerthError(options.status, options.message);
}

export async function admitInference(options: {
  authorization: string | null;
  cookie: string | null;
  request: RequestContext;
  path: string;
}): Promise<{ caller: InferenceCaller; error?: undefined } | { caller?: undefined; error: BerthError }> {
  const bearer = options.authorization ? /^Bearer\s+(\S+)\s*$/i.exec(options.authorization)?.[1] : undefined;
  if (bearer) {
    const key = createHash("sha256").update(bearer).digest("hex");
    const cache = admittedCache();
    const hit = cache.get(key);
    const now = Date.now();
    if (hit && hit.epoch === tokenEpoch() && now - hit.at < ADMITTED_TTL_MS) return { caller: hit.caller };
    const epoch = tokenEpoch();
    // When the entry expires under load, one lookup serves every request waiting on it.
    const admitting = (holder.__berthInferenceAdmitting ??= new Map());
    let lookup = admitting.get(key);
    if (!lookup) {
      lookup = authenticateBearer(bearer).finally(() => admitting.delete(key));
      admitting.set(key, lookup);
    }
    const result = await lookup;
    if (!result.ok) {
      return { error: await refuse({ ...options, reason: result.reason, status: "unauthenticated", message: authenticationMessage(result.reason), tokenId: result.tokenId }) };
    }
    if (!result.canInfer) {
      return {
        error: await refuse({
          ...options,
          actor: result.actor,
          reason: "token cannot infer",
          status: "forbidden",
          message: "This API token may not call the inference gateway; create one with inference access (`berth tokens create --infer`)",
        }),
      };
    }
    const caller = { tokenId: result.actor.id, label: result.actor.label };
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { caller, at: now, epoch });
    return { caller };
  }
  const auth = await authenticate({ authorization: options.authorization, cookies: parseCookieHeader(options.cookie) });
  if (!auth.ok) return { error: await refuse({ ...options, reason: auth.reason, status: "unauthenticated", message: auth.message, tokenId: auth.tokenId }) };
  if (!can(auth.actor.role, "inference")) {
    return {
      error: await refuse({ ...options, actor: auth.actor, reason: "needs inference", status: "forbidden", message: `Your role (${auth.actor.role}) does not allow calling deployments; it needs the inference permission` }),
    };
  }
  return { caller: { tokenId: auth.actor.kind === "API_TOKEN" ? auth.actor.id : null, label: auth.actor.label } };
}
