import { handle } from "@/lib/http/api";
import { setServerAdminState } from "@/lib/fleet/servers";
import { serverActionApi } from "../../schemas";

export const POST = handle(serverActionApi, async ({ actor, request, params, body }) => ({
  server: await setServerAdminState({ actor, request, name: params.name, action: body.action }),
}));
