import { expect, type APIRequestContext, type Page } from "@playwright/test";

export const ADMIN = { email: "admin@berth.test", name: "Ada Admin", password: "correct horse battery staple" };

/** Signs in through next-auth's credentials endpoint, as the login form does; the session cookie lands in `request`'s context. */
export async function signInThroughApi(request: APIRequestContext, credentials = ADMIN) {
  const csrf = await request.get("/api/auth/csrf");
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await request.post("/api/auth/callback/credentials", {
    form: { csrfToken, email: credentials.email, password: credentials.password, json: "true" },
  });
  expect(response.ok(), await response.text()).toBe(true);
  const me = await request.get("/api/v1/me");
  expect(me.status()).toBe(200);
}

export async function signIn(page: Page, credentials = ADMIN) {
  await signInThroughApi(page.request, credentials);
}

/** An API token of the given role, minted by the admin through the API. */
export async function adminToken(request: APIRequestContext, role = "ADMIN", name = `e2e-${role.toLowerCase()}-${Date.now()}`) {
  await signInThroughApi(request);
  const response = await request.post("/api/v1/tokens", { data: { name, role } });
  expect(response.status()).toBe(201);
  return ((await response.json()) as { secret: string; token: { id: string } });
}

export function bearer(secret: string) {
  return { authorization: `Bearer ${secret}` };
}

export type AuditEvent = { seq: string; action: string; outcome: string; actorLabel: string; actorKind: string; targetLabel: string | null; details: Record<string, unknown>; sourceAddress: string | null; requestId: string | null };

export async function recentAuditEvents(request: APIRequestContext, secret: string, limit = 50): Promise<AuditEvent[]> {
  const response = await request.get(`/api/v1/audit/events?limit=${limit}`, { headers: bearer(secret) });
  expect(response.status()).toBe(200);
  return ((await response.json()) as { events: AuditEvent[] }).events;
}
