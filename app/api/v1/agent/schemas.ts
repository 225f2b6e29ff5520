import { defineApi } from "@/lib/http/api";
import { ZCredentialResponse, ZDesiredState, ZDesiredStateQuery, ZEnrolRequest, ZEnrolResponse, ZHeartbeatRequest, ZHeartbeatResponse } from "@/lib/protocol/agent";

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
