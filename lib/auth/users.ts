import type { Role, User } from "@prisma/client";
import { z } from "zod";
import { getDb } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent, recordStandaloneAuditEvent, type AuditActor } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "./actor";
import { decoyPasswordHash, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from "./passwords";

export const ZEmail = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "Enter a valid email address" }));
export const ZPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, { message: `Use at least ${MIN_PASSWORD_LENGTH} characters` })
  .max(MAX_PASSWORD_LENGTH);
export const ZPersonName = z.string().trim().min(1, { message: "Enter a name" }).max(120);

export type UserView = { id: string; email: string; name: string; role: Role; createdAt: string };

export function userView(user: Pick<User, "id" | "email" | "name" | "role" | "createdAt">): UserView {
  return { id: user.id, email: user.email, name: user.name, role: user.role, createdAt: user.createdAt.toISOString() };
}

// Serialises first-admin creation, so two setup pages submitted at once cannot both win.
const FIRST_ADMIN_LOCK = 0x6265_7275;

export async function userCount(): Promise<number> {
  return getDb().user.count();
}

/**
 * Creates the first ADMIN, and only while no user exists: from the one-time
 * setup page, or from BERTH_ADMIN_EMAIL/BERTH_ADMIN_PASSWORD on first start.
 */
export async function createFirstAdmin(options: {
  input: { email: string; name: string; password: string };
  via: AuditActor;
  request: RequestContext;
}): Promise<UserView> {
  const passwordHash = await hashPassword(options.input.password);
  const created = await getDb().$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${FIRST_ADMIN_LOCK}::bigint)`;
    if ((await tx.user.count()) > 0) return undefined;
    const user = await tx.user.create({
      data: { email: options.input.email, name: options.input.name, passwordHash, role: "ADMIN" },
    });
    await recordAuditEvent(tx, {
      actor: options.via,
      request: options.request,
      action: "user.create",
      target: { kind: "user", id: user.id, label: user.email },
      details: { role: user.role, firstAdmin: true },
    });
    return user;
  });
  // The API wrapper audits this refusal, as it does every refused mutation.
  if (!created) throw new BerthError("conflict", "Berth already has an administrator; sign in instead");
  return userView(created);
}

export const SESSION_LIFETIME_SECONDS = 12 * 60 * 60;

/**
 * Checks a sign-in and opens a session. Unknown email and wrong password get
 * the same answer after the same work; the audit log keeps the difference.
 */
export async function signIn(options: { email: string; password: string; request: RequestContext }): Promise<{ user: UserView; sessionId: string } | null> {
  const email = options.email.trim().toLowerCase();
  const user = await getDb().user.findUnique({ where: { email } });
  const matches = await verifyPassword(options.password, user?.passwordHash ?? (await decoyPasswordHash()));
  const reason = !user ? "unknown_user" : !matches ? "wrong_password" : user.disabledAt ? "user_disabled" : undefined;
  const anonymous: AuditActor = { kind: "ANONYMOUS", id: null, label: email.slice(0, 254) || "(empty)" };
  if (!user || reason) {
    await recordStandaloneAuditEvent({
      actor: user ? { kind: "USER", id: user.id, label: user.email } : anonymous,
      request: options.request,
      action: "auth.login",
      outcome: "FAILURE",
      target: { kind: "user", id: user?.id ?? null, label: email.slice(0, 254) },
      details: { reason },
    });
    return null;
  }
  const session = await getDb().$transaction(async (tx) => {
    const created = await tx.userSession.create({
      data: {
        userId: user.id,
        expiresAt: new Date(Date.now() + SESSION_LIFETIME_SECONDS * 1000),
        sourceAddress: options.request.sourceAddress,
        userAgent: options.request.userAgent,
      },
    });
    await recordAuditEvent(tx, {
      actor: { kind: "USER", id: user.id, label: user.email },
      request: options.request,
      action: "auth.login",
      target: { kind: "session", id: created.id },
    });
    return created;
  });
  return { user: userView(user), sessionId: session.id };
}

/** The signed-in user behind a session id from the session cookie, if the session is still good. */
export async function actorForSession(sessionId: string): Promise<Extract<Actor, { kind: "USER" }> | null> {
  if (!z.uuid().safeParse(sessionId).success) return null;
  const session = await getDb().userSession.findUnique({ where: { id: sessionId }, include: { user: true } });
  if (!session || session.revokedAt || session.expiresAt <= new Date() || session.user.disabledAt) return null;
  return { kind: "USER", id: session.user.id, label: session.user.email, role: session.user.role, userId: session.user.id, sessionId: session.id };
}

export async function signOut(options: { sessionId: string; request: RequestContext }): Promise<void> {
  const actor = await actorForSession(options.sessionId);
  if (!actor) return;
  await getDb().$transaction(async (tx) => {
    await tx.userSession.update({ where: { id: actor.sessionId }, data: { revokedAt: new Date() } });
    await recordAuditEvent(tx, {
      actor: auditActor(actor),
      request: options.request,
      action: "auth.logout",
      target: { kind: "session", id: actor.sessionId },
    });
  });
}

export async function getUser(id: string): Promise<UserView | null> {
  const user = await getDb().user.findUnique({ where: { id } });
  return user ? userView(user) : null;
}

export const ZFirstAdmin = z.object({ email: ZEmail, name: ZPersonName, password: ZPassword }).strict();
