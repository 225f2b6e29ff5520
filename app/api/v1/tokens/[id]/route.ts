import { handle } from "@/lib/http/api";
import { revokeApiToken } from "@/lib/auth/api-tokens";
import { revokeToken } from "../schemas";

export const DELETE = handle(revokeToken, async ({ actor, request, params }) => ({
  token: await revokeApiToken({ actor, request, tokenId: params.id }),
}));
