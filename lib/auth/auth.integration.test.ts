import { describe, expect, it } from "vitest";
import { dump, connectTestDatabase, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { SYSTEM_ACTOR } from "@/lib/audit/record-event";
import { systemActor, type Actor } from "./actor";
import { authenticateBearer, createApiToken, listApiTokens, revokeApiToken } from "./api-tokens";
import { hashPassword } from "./passwords";
import { actorForSession, createFirstAdmin, signIn, signOut } from "./users";

connectTestDatabase();
const request = { requestId: "it", sourceAddress: "192.0.2.7", userAgent: "vitest" };

async function makeUser(email: string, role: "ADMIN" | "OPERATOR" | "VIEWER" | "AUDITOR", password = "a long enough password") {
  return getDb().user.create({ data: { email, name: email, role, passwordHash: await hashPassword(password) } });
}

function userActor(user: { id: string; email: string; role: Actor["role"] }): Actor {
  return { kind: "USER", id: user.id, label: user.email, role: user.role, userId: user.id, sessionId: "00000000-0000-0000-0000-000000000000" };
}

describe("first administrator", () => {
  it("is created once even when two setups race", async () => {
    await getDb().$executeRawUnsafe("TRUNCATE users CASCADE");
    const attempts = await Promise.allSettled([
      createFirstAdmin({ input: { email: "one@example.com", name: "One", password: "x".repeat(12) }, via: SYSTEM_ACTOR, request }),
      createFirstAdmin({ input: { email: "two@example.com", name: "Two", password: "x".repeat(12) }, via: SYSTEM_ACTOR, request }),
    ]);
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    expect(attempts.filter((a) => a.status === "rejected").map((a) => (a as PromiseRejectedResult).reason.code)).toEqual(["conflict"]);
    expect(await getDb().user.count()).toBe(1);
    const created = await (await auditLog()).findMany({ where: { action: "user.create", outcome: "SUCCESS" } });
    expect(created.at(-1)?.details).toEqual({ role: "ADMIN", firstAdmin: true });
  });
});

describe("sign-in", () => {
  it("gives the same answer for an unknown email and a wrong password, and audits both", async () => {
    await makeUser("signin@example.com", "VIEWER");
    expect(await signIn({ email: "nobody@example.com", password: "whatever password", request })).toBeNull();
    expect(await signIn({ email: "signin@example.com", password: "wrong password!!", request })).toBeNull();
    const failures = await (await auditLog()).findMany({ where: { action: "auth.login", outcome: "FAILURE" }, orderBy: { seq: "desc" }, take: 2 });
    expect(failures.map((f) => (f.details as { reason: string }).reason).sort()).toEqual(["unknown_user", "wrong_password"]);
    expect(failures[0]?.sourceAddress).toBe("192.0.2.7");
    expect(dump(failures)).not.toContain("wrong password!!");
  });

  it("opens a server-side session that sign-out ends at once", async () => {
    const result = await signIn({ email: "SignIn@Example.com ", password: "a long enough password", request });
    expect(result?.user.email).toBe("signin@example.com");
    const actor = await actorForSession(result!.sessionId);
    expect(actor?.label).toBe("signin@example.com");
    await signOut({ sessionId: result!.sessionId, request });
    expect(await actorForSession(result!.sessionId)).toBeNull();
    expect(await (await auditLog()).count({ where: { action: "auth.logout", targetId: result!.sessionId } })).toBe(1);
  });

  it("refuses a disabled user", async () => {
    const user = await makeUser("disabled@example.com", "VIEWER");
    await getDb().user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect(await signIn({ email: "disabled@example.com", password: "a long enough password", request })).toBeNull();
  });
});

describe("API tokens", () => {
  it("authenticate until revoked, store only a hash, and are audited", async () => {
    const owner = await makeUser("tokens@example.com", "OPERATOR");
    const { token, secret } = await createApiToken({ actor: userActor(owner), request, input: { name: "ci", role: "VIEWER" } });
    const stored = await getDb().apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect(stored.secretHash).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));

    const auth = await authenticateBearer(secret);
    expect(auth).toMatchObject({ ok: true, actor: { kind: "API_TOKEN", id: token.id, role: "VIEWER", userId: owner.id } });

    await revokeApiToken({ actor: userActor(owner), request, tokenId: token.id });
    expect(await authenticateBearer(secret)).toMatchObject({ ok: false, reason: "revoked_token" });

    const events = await (await auditLog()).findMany({ where: { targetId: token.id }, orderBy: { seq: "asc" } });
    expect(events.map((e) => e.action)).toEqual(["token.create", "token.revoke"]);
    expect(dump(events)).not.toContain(secret);
  });

  it("refuse a role above the creator's, and an expiry in the past", async () => {
    const viewer = await makeUser("viewer-tokens@example.com", "VIEWER");
    await expect(createApiToken({ actor: userActor(viewer), request, input: { name: "x", role: "ADMIN" } })).rejects.toMatchObject({ code: "forbidden" });
    await expect(
      createApiToken({ actor: userActor(viewer), request, input: { name: "x", role: "VIEWER", expiresAt: "2000-01-01T00:00:00Z" } }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    expect(await getDb().apiToken.count({ where: { userId: viewer.id } })).toBe(0);
  });

  it("a token sees and revokes only its owner's tokens of a role it could grant", async () => {
    const owner = await makeUser("token-owner@example.com", "ADMIN");
    const admin = await createApiToken({ actor: userActor(owner), request, input: { name: "deploy-bot", role: "ADMIN" } });
    const viewer = await createApiToken({ actor: userActor(owner), request, input: { name: "dashboard", role: "VIEWER" } });
    const asViewer = await authenticateBearer(viewer.secret);
    if (!asViewer.ok) throw new Error("the viewer token should authenticate");
    expect((await listApiTokens({ actor: asViewer.actor })).map((t) => t.name)).toEqual(["dashboard"]);
    await expect(revokeApiToken({ actor: asViewer.actor, request, tokenId: admin.token.id })).rejects.toMatchObject({ code: "not_found" });
    expect((await authenticateBearer(admin.secret)).ok).toBe(true);
    expect((await listApiTokens({ actor: userActor(owner) })).map((t) => t.name)).toEqual(expect.arrayContaining(["deploy-bot", "dashboard"]));
  });

  it("stop working once expired", async () => {
    const { token, secret } = await createApiToken({ actor: systemActor(), request, input: { name: "short", role: "VIEWER", expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    expect((await authenticateBearer(secret)).ok).toBe(true);
    await getDb().apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await authenticateBearer(secret)).toMatchObject({ ok: false, reason: "expired_token" });
  });

  it("never outrank their owner after the owner's role is lowered", async () => {
    const owner = await makeUser("demoted@example.com", "OPERATOR");
    const { secret } = await createApiToken({ actor: userActor(owner), request, input: { name: "op", role: "OPERATOR" } });
    await getDb().user.update({ where: { id: owner.id }, data: { role: "VIEWER" } });
    expect(await authenticateBearer(secret)).toMatchObject({ ok: false, reason: "owner_role_lowered" });
  });

  it("are private to their owner, except to an ADMIN", async () => {
    const alice = await makeUser("alice@example.com", "OPERATOR");
    const bob = await makeUser("bob@example.com", "OPERATOR");
    const admin = await makeUser("admin2@example.com", "ADMIN");
    const { token } = await createApiToken({ actor: userActor(alice), request, input: { name: "alice-ci", role: "VIEWER" } });
    expect((await listApiTokens({ actor: userActor(bob) })).map((t) => t.id)).not.toContain(token.id);
    await expect(revokeApiToken({ actor: userActor(bob), request, tokenId: token.id })).rejects.toMatchObject({ code: "not_found" });
    expect((await listApiTokens({ actor: userActor(admin) })).map((t) => t.id)).toContain(token.id);
  });

  it("leave the audit chain valid", async () => {
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});
