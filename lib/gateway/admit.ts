import { createHash } from "node:crypto";
import type { RequestContext } from "@/lib/auth/actor";
import { authenticateBearer, tokenEpoch, type BearerTokenRow, type BearerTokenStore } from "@/lib/auth/api-tokens";
import { getPool } from "@/lib/db/client";
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
 * A token lookup through Prisma costs 2-8 ms of CPU here (bench/fleet,
 * bench/gateway), more than the gateway's whole budget and a stall that
 * showed at p99, so the gateway reads tokens through plain pg (the rules stay
 * in authenticateBearer) and remembers an admitted token for ADMITTED_TTL_MS
 * by the SHA-256 of its secret. Revoking any token drops
 * the whole cache at once (tokenEpoch); other changes (owner disabled, role
 * lowered) take effect within that second. Refusals are never cached.
 */
export const ADMITTED_TTL_MS = 1_000;

/** Audit target of every gateway refusal. */
export const GATEWAY_ROUTE = { method: "post" as const, path: "/api/v1/infer/{deployment}/{path}", action: INFERENCE_AUDIT_ACTION };

type TokenSqlRow = Omit<BearerTokenRow, "user" | "userId" | "lastUsedAt" | "revokedAt" | "expiresAt" | "canInfer"> & {
  user_id: string | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date | null;
  can_infer: boolean;
  owner_email: string | null;
  owner_role: BearerTokenRow["role"] | null;
  owner_disabled_at: Date | null;
};

const PG_TOKEN_STORE: BearerTokenStore = {
  async find(secretHash) {
    const { rows } = await getPool().query<TokenSqlRow>(
      `SELECT t.id, t.name, t.role, t.user_id, t.last_used_at, t.revoked_at, t.expires_at, t.can_infer,
              u.email AS owner_email, u.role AS owner_role, u.disabled_at AS owner_disabled_at
         FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
        WHERE t.secret_hash = $1`,
      [secretHash],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      name: row.name,
      role: row.role,
      userId: row.user_id,
      lastUsedAt: row.last_used_at,
      revokedAt: row.revoked_at,
      expiresAt: row.expires_at,
      canInfer: row.can_infer,
      user: row.owner_email !== null && row.owner_role !== null ? { email: row.owner_email, role: row.owner_role, disabledAt: row.owner_disabled_at } : null,
    };
  },
  async touch(tokenId) {
    await getPool().query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1", [tokenId]);
  },
};

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
      lookup = authenticateBearer(bearer, PG_TOKEN_STORE).finally(() => admitting.delete(key));
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
