import { handle } from "@/lib/http/api";
import { controlPlaneUrl } from "@/lib/config/public-url";
import { enrolmentCommands, issueEnrolmentToken } from "@/lib/fleet/servers";
import { enrolmentTokenApi } from "../../schemas";

export const POST = handle(enrolmentTokenApi, async ({ actor, request, params, body, raw }) => {
  const { server, enrolmentToken } = await issueEnrolmentToken({ actor, request, name: params.name, ttlMinutes: body.ttlMinutes });
  return { server, enrolmentToken, commands: enrolmentCommands({ url: controlPlaneUrl(raw), token: enrolmentToken, name: server.name }) };
});
