import { getToken } from "next-auth/jwt";
import type { Actor } from "./actor";
import { authenticateBearer } from "./api-tokens";
import { actorForSession } from "./users";

type CookieSource = Map<string, string> | { getAll: () => { name: string; value: string }[] };

const SESSION_COOKIE = "next-auth.session-token";
const SECURE_SESSION_COOKIE = "__Secure-next-auth.session-token";

export type Authentication =
  | { ok: true; actor: Exclude<Actor, { kind: "SYSTEM" }> }
  | { ok: false; reason: string; message: string; tokenId?: string };

export function parseCookieHeader(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const raw = part.slice(index + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(raw));
    } catch {
      cookies.set(name, raw);
    }
  }
  return cookies;
}

const MESSAGES: Record<string, string> = {
  no_credentials: "Sign in, or send an API token as `Authorization: Bearer <token>`",
  malformed_authorization: "The Authorization header must be `Bearer <token>`",
  malformed_token: "The bearer token is not a Berth API token",
  unknown_token: "The API token is not valid",
  revoked_token: "The API token has been revoked",
  expired_token: "The API token has expired",
  owner_disabled: "The API token's owner is disabled",
  owner_role_lowered: "The API token's role is now higher than its owner's; create a new token",
  session_ended: "Your session has ended; sign in again",
};

/** What to tell the caller for an authentication failure's reason. */
export function authenticationMessage(reason: string): string {
  return MESSAGES[reason] ?? "Not authenticated";
}

function failure(reason: string, tokenId?: string): Authentication {
  return { ok: false, reason, message: authenticationMessage(reason), ...(tokenId ? { tokenId } : {}) };
}

/**
 * Who is calling: an API token in the Authorization header, else the browser
 * session cookie (a next-auth JWT that names a server-side session row, so
 * sign-out and disabling a user take effect on the next request).
 */
export async function authenticate(options: { authorization: string | null; cookies: CookieSource }): Promise<Authentication> {
  if (options.authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(options.authorization);
    if (!match?.[1]) return failure("malformed_authorization");
    const result = await authenticateBearer(match[1]);
    return result.ok ? result : failure(result.reason, result.tokenId);
  }
  // next-auth names the cookie __Secure-… when the site is reached over HTTPS.
  const names = options.cookies instanceof Map ? [...options.cookies.keys()] : options.cookies.getAll().map((c) => c.name);
  const secure = names.some((name) => name.startsWith(SECURE_SESSION_COOKIE));
  const jwt = await getToken({
    req: { cookies: options.cookies, headers: {} } as unknown as Parameters<typeof getToken>[0]["req"],
    secret: process.env.NEXTAUTH_SECRET,
    secureCookie: secure,
    cookieName: secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE,
  });
  const sessionId = typeof jwt?.sid === "string" ? jwt.sid : undefined;
  if (!sessionId) return failure("no_credentials");
  const actor = await actorForSession(sessionId);
  return actor ? { ok: true, actor } : failure("session_ended");
}
