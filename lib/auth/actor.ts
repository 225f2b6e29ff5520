import type { Role } from "@prisma/client";
import type { AuditActor, AuditRequest } from "@/lib/audit/record-event";

/** Who is calling, once authenticated. Every domain mutation takes one. */
export type Actor =
  | { kind: "USER"; id: string; label: string; role: Role; userId: string; sessionId: string }
  | { kind: "API_TOKEN"; id: string; label: string; role: Role; userId: string | null; tokenName: string }
  | { kind: "SYSTEM"; id: null; label: string; role: Role; userId: null }
  // A host agent, by its server's credential. It may use the agent channel only (never a user route).
  | { kind: "AGENT"; id: string; label: string; role: Role; userId: null; serverId: string; serverName: string };

/** Where a request came from; carried into audit events and logs. */
export type RequestContext = AuditRequest & { userAgent: string | null };

export const SYSTEM_REQUEST: RequestContext = { requestId: null, sourceAddress: null, userAgent: null };

export function systemActor(label = "system"): Actor {
  return { kind: "SYSTEM", id: null, label, role: "ADMIN", userId: null };
}

export function auditActor(actor: Actor): AuditActor {
  return { kind: actor.kind, id: actor.id, label: actor.label };
}

/**
 * The custom server (server/) sets these two headers on every request after
 * stripping any the client sent, so they can be trusted here.
 */
export const CLIENT_ADDRESS_HEADER = "x-berth-client-address";
export const REQUEST_ID_HEADER = "x-request-id";

export function requestContextFrom(headers: Headers): RequestContext {
  return {
    requestId: headers.get(REQUEST_ID_HEADER),
    sourceAddress: headers.get(CLIENT_ADDRESS_HEADER),
    userAgent: headers.get("user-agent")?.slice(0, 300) ?? null,
  };
}

/** The same from a Node request's headers (lower-cased names), without building a `Headers` for each heartbeat. */
export function requestContextFromNode(headers: Record<string, string | string[] | undefined>): RequestContext {
  const one = (name: string) => {
    const value = headers[name];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  };
  return { requestId: one(REQUEST_ID_HEADER), sourceAddress: one(CLIENT_ADDRESS_HEADER), userAgent: one("user-agent")?.slice(0, 300) ?? null };
}
