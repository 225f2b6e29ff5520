import type { ApiToken, Role, User } from "@prisma/client";
import { z } from "zod";
import { getDb, getPool } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "./actor";
import { can, canGrantRole, grantableRoles, ROLES } from "./roles";
import { displayPrefix, generateSecret, hashSecret } from "./secrets";

export const TOKEN_PREFIX = "berth";

export const ZCreateApiToken = z
  .object({
    name: z.string().trim().min(1, { message: "Give the token a name" }).max(80),
    role: z.enum(ROLES),
    expiresAt: z.iso
      .datetime({ offset: true, message: "Use an ISO 8601 date-time, for example 2027-01-31T00:00:00Z" })
      .nullable()
      .optional(),
    canInfer: z.boolean().optional().describe("May call the inference gateway (/api/v1/infer/...); independent of the role. Default false."),
  })
  .strict();
export type TCreateApiToken = z.infer<typeof ZCreateApiToken>;

export type ApiTokenView = {
  id: string;
  name: string;
  role: Role;
  displayPrefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  status: "active" | "expired" | "revoked";
  canInfer: boolean;
};

export function apiTokenView(token: Omit<ApiToken, "secretHash">, now = new Date()): ApiTokenView {
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    displayPrefix: token.displayPrefix,
    createdBy: token.createdBy,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    status: token.revokedAt ? "revoked" : token.expiresAt && token.expiresAt <= now ? "expired" : "active",
    canInfer: token.canInfer,
  };
}

/**
 * Mints a token. The secret is returned here once and never again: only its
 * SHA-256 is stored. A user's token carries a role no higher than the user's;
 * a SYSTEM actor (the `berth admin create-token` command on the control-plane
 * host) may mint any role, with no owner.
 */
export async function createApiToken(options: { actor: Actor; request: RequestContext; input: TCreateApiToken }): Promise<{ token: ApiTokenView; secret: string }> {
  const { actor, input } = options;
  if (!canGrantRole(actor.role, input.role)) {
    throw new BerthError("forbidden", `A ${actor.role} cannot create a ${input.role} token; choose a role no higher than your own`);
  }
  if (input.canInfer && !can(actor.role, "inference")) {
    throw new BerthError("forbidden", `A ${actor.role} cannot create a token that calls the inference gateway; it needs the inference permission`);
  }
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= new Date()) throw new BerthError("validation_failed", "Expiry must be in the future", { field: "expiresAt" });
  const secret = generateSecret(TOKEN_PREFIX);
  const token = await getDb().$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: {
        name: input.name,
        role: input.role,
        secretHash: hashSecret(secret),
        displayPrefix: displayPrefix(secret),
        userId: actor.kind === "SYSTEM" ? null : actor.userId,
        createdBy: actor.label,
        expiresAt,
        canInfer: input.canInfer ?? false,
      },
      omit: { secretHash: true },
    });
    await recordAuditEvent(tx, {
      actor: auditActor(actor),
      request: options.request,
      action: "token.create",
      target: { kind: "api_token", id: created.id, label: created.name },
      details: { role: created.role, expiresAt: created.expiresAt?.toISOString() ?? null, displayPrefix: created.displayPrefix, canInfer: created.canInfer },
    });
    return created;
  });
  return { token: apiTokenView(token), secret };
}

/**
 * A user sees and revokes their own tokens; an ADMIN sees and revokes
 * everyone's. Either way only tokens of a role the caller could grant: a
 * VIEWER token its ADMIN owner minted for a dashboard must not list or revoke
 * that owner's ADMIN tokens.
 */
function visibleTo(actor: Actor) {
  const roles = { role: { in: grantableRoles(actor.role) } };
  return actor.role === "ADMIN" ? roles : { ...roles, userId: actor.userId ?? "00000000-0000-0000-0000-000000000000" };
}

export async function listApiTokens(options: { actor: Actor }): Promise<ApiTokenView[]> {
  const tokens = await getDb().apiToken.findMany({
    where: visibleTo(options.actor),
    orderBy: { createdAt: "desc" },
    omit: { secretHash: true },
  });
  const now = new Date();
  return tokens.map((t) => apiTokenView(t, now));
}

export async function revokeApiToken(options: { actor: Actor; request: RequestContext; tokenId: string }): Promise<ApiTokenView> {
  if (!z.uuid().safeParse(options.tokenId).success) throw new BerthError("not_found", "No such API token");
  return getDb().$transaction(async (tx) => {
    const token = await tx.apiToken.findFirst({ where: { id: options.tokenId, ...visibleTo(options.actor) }, omit: { secretHash: true } });
    if (!token) throw new BerthError("not_found", "No such API token");
    if (token.revokedAt) return apiTokenView(token);
    bumpTokenEpoch();
    const revoked = await tx.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() }, omit: { secretHash: true } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "token.revoke",
      target: { kind: "api_token", id: token.id, label: token.name },
      details: { role: token.role, displayPrefix: token.displayPrefix },
    });
    return apiTokenView(revoked);
  });
}

export type BearerResult = { ok: true; actor: Extract<Actor, { kind: "API_TOKEN" }>; canInfer: boolean } | { ok: false; reason: string; tokenId?: string };

/**
 * Bumped whenever a token is revoked. Callers that keep a short-lived cache of
 * admitted tokens (the inference gateway) drop it when this changes, so a
 * revocation still takes effect at once. On globalThis: one count per process.
 */
const epochHolder = globalThis as unknown as { __berthTokenEpoch?: number };
export function tokenEpoch(): number {
  return epochHolder.__berthTokenEpoch ?? 0;
}
function bumpTokenEpoch() {
  epochHolder.__berthTokenEpoch = tokenEpoch() + 1;
}

// lastUsedAt is a hint for people, not a ledger: write it at most once a minute per token.
const LAST_USED_GRANULARITY_MS = 60_000;

/** What deciding on a bearer token needs to read: the token and its owner. */
export type BearerTokenRow = Pick<ApiToken, "id" | "name" | "role" | "userId" | "revokedAt" | "expiresAt" | "lastUsedAt" | "canInfer"> & {
  user: Pick<User, "email" | "role" | "disabledAt"> | null;
};

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

/**
 * The token and its owner, through plain pg: every API call with a bearer
 * token passes here (the gateway, the agent-facing and deployment routes, CI
 * pipelines), and a lookup through Prisma's client engine costs 2-8 ms of CPU
 * (bench/fleet, bench/gateway), through pg about 0.3 ms.
 */
async function findBearerToken(secretHash: string): Promise<BearerTokenRow | null> {
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
}

export async function authenticateBearer(secret: string): Promise<BearerResult> {
  if (!secret.startsWith(`${TOKEN_PREFIX}_`) || secret.length > 200) return { ok: false, reason: "malformed_token" };
  const token = await findBearerToken(hashSecret(secret));
  if (!token) return { ok: false, reason: "unknown_token" };
  if (token.revokedAt) return { ok: false, reason: "revoked_token", tokenId: token.id };
  if (token.expiresAt && token.expiresAt <= new Date()) return { ok: false, reason: "expired_token", tokenId: token.id };
  if (token.user?.disabledAt) return { ok: false, reason: "owner_disabled", tokenId: token.id };
  // A token never outranks its owner, even after the owner's role was lowered.
  if (token.user && !canGrantRole(token.user.role, token.role)) return { ok: false, reason: "owner_role_lowered", tokenId: token.id };
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await getPool().query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1", [token.id]);
  }
  const owner = token.user?.email ?? "system";
  return {
    ok: true,
    actor: { kind: "API_TOKEN", id: token.id, label: `${token.name} (${owner})`, role: token.role, userId: token.userId, tokenName: token.name },
    canInfer: token.canInfer,
  };
}
