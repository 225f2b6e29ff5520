import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import type { Actor, RequestContext } from "./actor";
import { requestContextFrom } from "./actor";
import { authenticate } from "./authenticate";
import { can, type Permission } from "./roles";
import { userCount } from "./users";

/**
 * For pages: the signed-in user, or a redirect to sign-in (or to first-run
 * setup while no user exists). Checked on every page render, not only in a
 * layout, because client navigation can re-render a page without its layout.
 */
export async function requirePageActor(): Promise<{ actor: Actor; request: RequestContext }> {
  const auth = await authenticate({ authorization: null, cookies: await cookies() });
  if (!auth.ok) {
    if ((await userCount()) === 0) redirect("/setup");
    redirect("/login");
  }
  return { actor: auth.actor, request: requestContextFrom(await headers()) };
}

export function actorCan(actor: Actor, permission: Permission): boolean {
  return can(actor.role, permission);
}
