import { handle } from "@/lib/http/api";
import { getServer, removeServer, serverHistory } from "@/lib/fleet/servers";
import { getServerApi, removeServerApi } from "../schemas";

export const GET = handle(getServerApi, async ({ params }) => {
  const server = await getServer(params.name);
  return { server, history: await serverHistory(server.id) };
});

export const DELETE = handle(removeServerApi, async ({ actor, request, params }) => {
  await removeServer({ actor, request, name: params.name });
  return { removed: true };
});
