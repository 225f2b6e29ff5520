import { defineApi } from "@/lib/http/api";
import { z } from "zod";
import { ZCredentialResponse, ZDesiredState, ZDesiredStateQuery, ZEnrolRequest, ZEnrolResponse, ZHeartbeatRequest, ZHeartbeatResponse, ZStatusReport, ZStatusResponse } from "@/lib/protocol/agent";

// The agent channel, served by server/agent-routes.ts ahead of Next. Agents
// connect out; every call but enrolment carries the agent's own credential.

export const enrolApi = defineApi({
  method: "post",
  path: "/api/v1/agent/enrol",
  tag: "Agent channel",
  summary: "Trade a one-time enrolment token for the agent's long-lived credential (shown once)",
  permission: "public",
  action: "server.enrol",
  body: ZEnrolRequest,
  status: 201,
  response: ZEnrolResponse,
});

export const heartbeatApi = defineApi({
  method: "post",
  path: "/api/v1/agent/heartbeat",
  tag: "Agent channel",
  summary: "Report the host's inventory and the desired-state generation it has applied",
  permission: "agent",
  action: "agent.heartbeat",
  body: ZHeartbeatRequest,
  response: ZHeartbeatResponse,
});

export const rotateCredentialApi = defineApi({
  method: "post",
  path: "/api/v1/agent/credential",
  tag: "Agent channel",
  summary: "Issue this agent a new credential; the old one works until the new one is first used",
  permission: "agent",
  action: "server.credential_rotate",
  response: ZCredentialResponse,
});

export const desiredStateApi = defineApi({
  method: "get",
  path: "/api/v1/agent/desired-state",
  tag: "Agent channel",
  summary: "What should run on this host. Long-poll: with `after`, waits up to `waitSeconds` for a newer generation",
  permission: "agent",
  query: ZDesiredStateQuery,
  response: ZDesiredState,
});

export const statusReportApi = defineApi({
  method: "post",
  path: "/api/v1/agent/status",
  tag: "Agent channel",
  summary: "Report the phase, container, endpoint and last log lines of every replica on this host",
  permission: "agent",
  action: "agent.status",
  body: ZStatusReport,
  response: ZStatusResponse,
});

export const agentArtifactApi = defineApi({
  method: "get",
  path: "/api/v1/agent/artifacts/{sha256}",
  tag: "Agent channel",
  summary: "Download an artifact this host's desired state names (Range requests resume)",
  permission: "agent",
  action: "artifact.download",
  params: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: "A SHA-256 digest: 64 lowercase hex characters" }) }).strict(),
  rawResponse: { contentType: "application/octet-stream", description: "The artifact, or the requested range of it (206)" },
  extraResponses: { 206: "Partial content for a Range request", 416: "The range lies outside the artifact" },
  response: z.unknown(),
});

export const runtimeImageApi = defineApi({
  method: "get",
  path: "/api/v1/agent/runtime-images/{name}",
  tag: "Agent channel",
  summary: "A built-in runtime's image as a `docker load` archive, for hosts with no registry",
  permission: "agent",
  params: z.object({ name: z.string().max(63) }).strict(),
  rawResponse: { contentType: "application/x-tar", description: "The image in `docker save` format" },
  response: z.unknown(),
});
