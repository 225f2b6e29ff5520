import { handle } from "@/lib/http/api";
import { createFirstAdmin, userCount } from "@/lib/auth/users";
import { completeSetup, setupStatus } from "./schemas";

export const dynamic = "force-dynamic";

export const GET = handle(setupStatus, async () => ({ setupNeeded: (await userCount()) === 0 }));

// Public by necessity (nobody can sign in yet); lib/ refuses it once any user exists.
export const POST = handle(completeSetup, async ({ body, request }) => ({
  user: await createFirstAdmin({ input: body, via: { kind: "ANONYMOUS", id: null, label: "first-run setup page" }, request }),
}));
