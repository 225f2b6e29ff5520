import { handle } from "@/lib/http/api";
import { addServer, enrolmentCommands, listServers } from "@/lib/fleet/servers";
import { controlPlaneUrl } from "@/lib/config/public-url";
import { addServerApi, listServersApi } from "./schemas";

export const GET = handle(listServersApi, async () => ({ servers: await listServers() }));

export const POST = handle(addServerApi, async ({ actor, request, body, raw }) => {
  const { server, enrolmentToken } = await addServer({ actor, request, input: body });
  return { server, enrolmentToken, commands: enrolmentCommands({ url: controlPlaneUrl(raw), token: enrolmentToken, name: server.name }) };
});
