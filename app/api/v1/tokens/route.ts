import { handle } from "@/lib/http/api";
import { createApiToken, listApiTokens } from "@/lib/auth/api-tokens";
import { createToken, listTokens } from "./schemas";

export const GET = handle(listTokens, async ({ actor }) => ({ tokens: await listApiTokens({ actor }) }));

export const POST = handle(createToken, async ({ actor, request, body }) => createApiToken({ actor, request, input: body }));
