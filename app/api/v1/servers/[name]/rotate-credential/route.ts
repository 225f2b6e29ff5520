import { handle } from "@/lib/http/api";
import { requestCredentialRotation } from "@/lib/fleet/servers";
import { rotateServerCredentialApi } from "../../schemas";

export const POST = handle(rotateServerCredentialApi, async ({ actor, request, params }) => ({
  server: await requestCredentialRotation({ actor, request, name: params.name }),
}));
