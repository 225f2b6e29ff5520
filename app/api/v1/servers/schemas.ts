import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZAddServer, ZServerAction } from "@/lib/fleet/schemas";
import { ZInventory } from "@/lib/protocol/agent";

export const ZServer = z.object({
  id: z.uuid(),
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  state: z.enum(["pending", "online", "offline", "draining", "disabled"]),
  adminState: z.enum(["active", "draining", "disabled"]),
  connectivity: z.enum(["never_seen", "online", "offline"]),
  enrolled: z.boolean(),
  enrolmentExpiresAt: z.iso.datetime().nullable(),
  lastSeenAt: z.iso.datetime().nullable(),
  agentVersion: z.string().nullable(),
  hostname: z.string().nullable(),
  inventory: ZInventory.nullable(),
  generation: z.number().int(),
  observedGeneration: z.number().int().nullable(),
  rotationRequested: z.boolean(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
});

export const ZEnrolment = z.object({
  server: ZServer,
  enrolmentToken: z.string().describe("One-time, shown once; expires at server.enrolmentExpiresAt"),
  commands: z.object({ npx: z.string(), bundle: z.string(), systemd: z.string(), docker: z.string() }),
});

const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const listServersApi = defineApi({ method: "get", path: "/api/v1/servers", tag: "Servers", summary: "Enrolled and pending servers with their state", permission: "read", response: z.object({ servers: z.array(ZServer) }) });

export const addServerApi = defineApi({
  method: "post",
  path: "/api/v1/servers",
  tag: "Servers",
  summary: "Add a server: returns a one-time enrolment token and the commands that start the agent with it",
  permission: "fleet.write",
  action: "server.add",
  body: ZAddServer,
  status: 201,
  response: ZEnrolment,
});

export const getServerApi = defineApi({
  method: "get",
  path: "/api/v1/servers/{name}",
  tag: "Servers",
  summary: "One server: state, inventory and history",
  permission: "read",
  params: ZNameParams,
  response: z.object({ server: ZServer, history: z.array(z.record(z.string(), z.unknown())) }),
});

export const removeServerApi = defineApi({
  method: "delete",
  path: "/api/v1/servers/{name}",
  tag: "Servers",
  summary: "Remove a server; its agent's credential is refused from the next request",
  permission: "fleet.write",
  action: "server.remove",
  params: ZNameParams,
  response: z.object({ removed: z.literal(true) }),
});

export const serverActionApi = defineApi({
  method: "post",
  path: "/api/v1/servers/{name}/actions",
  tag: "Servers",
  summary: "Drain (no new work), disable (nothing runs), or activate a server",
  permission: "fleet.write",
  action: "server.state",
  params: ZNameParams,
  body: ZServerAction,
  response: z.object({ server: ZServer }),
});

export const enrolmentTokenApi = defineApi({
  method: "post",
  path: "/api/v1/servers/{name}/enrolment-token",
  tag: "Servers",
  summary: "Issue a new one-time enrolment token (the previous one stops working)",
  permission: "fleet.write",
  action: "server.enrolment_token",
  params: ZNameParams,
  body: z.object({ ttlMinutes: z.number().int().min(5).max(7 * 24 * 60).default(60) }).strict(),
  status: 201,
  response: ZEnrolment,
});

export const rotateServerCredentialApi = defineApi({
  method: "post",
  path: "/api/v1/servers/{name}/rotate-credential",
  tag: "Servers",
  summary: "Have the agent swap its credential at its next heartbeat; the old one then stops working",
  permission: "fleet.write",
  action: "server.credential_rotation_requested",
  params: ZNameParams,
  response: z.object({ server: ZServer }),
});
