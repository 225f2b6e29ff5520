import { handleNode } from "@/lib/http/node-api";
import { createBodyMemo } from "@/lib/http/body-memo";
import { BerthError } from "@/lib/http/errors";
import { desiredStateFor, enrolAgent, recordHeartbeat, rotateAgentCredential, type AgentIdentity } from "@/lib/fleet/agent-channel";
import type { Actor } from "@/lib/auth/actor";
import { createReadStream } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { agentArtifactApi, desiredStateApi, enrolApi, heartbeatApi, rotateCredentialApi, runtimeImageApi, statusReportApi } from "@/app/api/v1/agent/schemas";
import { findRuntime } from "@/lib/deployments/runtimes";
import { buildOnnxRuntimeImageArchive } from "@/runtimes/onnx/image";
import { ingestStatusReport } from "@/lib/deployments/status";
import { openArtifactForAgent } from "@/lib/deployments/agent-artifacts";
import { readSettings } from "@/lib/config/settings";
import { sendArtifact } from "./artifacts";

function agentOf(actor: Actor): AgentIdentity {
  if (actor.kind !== "AGENT") throw new BerthError("forbidden", "Only a host agent may use the agent channel");
  return { kind: "AGENT", id: actor.id, label: actor.label, serverId: actor.serverId, serverName: actor.serverName, usedPreviousCredential: false };
}

export const enrol = handleNode(enrolApi, async ({ body, request }) => enrolAgent({ token: body.token, inventory: body.inventory, request }));

// A host's heartbeat body repeats until something on it changes: the same bytes skip parsing and
// validation, and the same (===) inventory skips its rewrite (lib/fleet/heartbeat-writer.ts).
const heartbeatBodies = createBodyMemo(50_000);

export const heartbeat = handleNode(
  heartbeatApi,
  async ({ actor, body, request }) => recordHeartbeat({ agent: agentOf(actor), inventory: body.inventory, observedGeneration: body.observedGeneration, request }),
  { bodyMemo: { memo: heartbeatBodies, keyOf: (actor) => (actor?.kind === "AGENT" ? actor.serverId : null) } },
);

export const rotateCredential = handleNode(rotateCredentialApi, async ({ actor, request }) => rotateAgentCredential({ agent: agentOf(actor), request }));

export const desiredState = handleNode(desiredStateApi, async ({ actor, query, req }) => {
  // A long-poll held open by every host: it ends early when the agent hangs up.
  const hangUp = new AbortController();
  req.once("close", () => hangUp.abort());
  return desiredStateFor({ agent: agentOf(actor), after: query.after, waitSeconds: query.waitSeconds, signal: hangUp.signal });
});

export const statusReport = handleNode(statusReportApi, async ({ actor, body, request }) => ingestStatusReport({ agent: agentOf(actor), report: body, request }));

export const agentArtifact = handleNode(agentArtifactApi, async ({ actor, params, request, req, res }) => {
  const range = typeof req.headers.range === "string" ? req.headers.range : null;
  const artifact = await openArtifactForAgent({ agent: agentOf(actor), sha256: params.sha256, blobDir: readSettings().blobDir, range, request });
  await sendArtifact(req, res, artifact, request.requestId);
});

export const runtimeImage = handleNode(runtimeImageApi, async ({ actor, params, res }) => {
  agentOf(actor);
  const runtime = await findRuntime(params.name);
  if (runtime.source !== "BUILTIN") throw new BerthError("not_found", `Runtime "${runtime.name}" comes from a registry; the agent pulls ${runtime.image} itself`);
  // Built once per release from this host's own files, then served from the cache (GNU tar and ldd needed here).
  const archive = await buildOnnxRuntimeImageArchive({ cacheDir: path.join(readSettings().dataDir, "runtime-images") });
  res.writeHead(200, {
    "content-type": "application/x-tar",
    "content-length": archive.sizeBytes,
    "x-berth-image": archive.tag,
    "x-berth-sha256": archive.sha256,
    "cache-control": "private, no-store",
  });
  await pipeline(createReadStream(archive.path, { highWaterMark: 1024 * 1024 }), res);
});
