import { handleNode } from "@/lib/http/node-api";
import { BerthError } from "@/lib/http/errors";
import { desiredStateFor, enrolAgent, recordHeartbeat, rotateAgentCredential, type AgentIdentity } from "@/lib/fleet/agent-channel";
import type { Actor } from "@/lib/auth/actor";
import { desiredStateApi, enrolApi, heartbeatApi, rotateCredentialApi } from "@/app/api/v1/agent/schemas";

function agentOf(actor: Actor): AgentIdentity {
  if (actor.kind !== "AGENT") throw new BerthError("forbidden", "Only a host agent may use the agent channel");
  return { kind: "AGENT", id: actor.id, label: actor.label, serverId: actor.serverId, serverName: actor.serverName, usedPreviousCredential: false };
}

export const enrol = handleNode(enrolApi, async ({ body, request }) => enrolAgent({ token: body.token, inventory: body.inventory, request }));

export const heartbeat = handleNode(heartbeatApi, async ({ actor, body, request }) =>
  recordHeartbeat({ agent: agentOf(actor), inventory: body.inventory, observedGeneration: body.observedGeneration, request }),
);

export const rotateCredential = handleNode(rotateCredentialApi, async ({ actor, request }) => rotateAgentCredential({ agent: agentOf(actor), request }));

export const desiredState = handleNode(desiredStateApi, async ({ actor, query, req }) => {
  // A long-poll held open by every host: it ends early when the agent hangs up.
  const hangUp = new AbortController();
  req.once("close", () => hangUp.abort());
  return desiredStateFor({ agent: agentOf(actor), after: query.after, waitSeconds: query.waitSeconds, signal: hangUp.signal });
});
