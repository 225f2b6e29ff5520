import { getDb } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import type { RequestContext } from "@/lib/auth/actor";
import type { AgentIdentity } from "@/lib/fleet/agent-channel";
import { blobPath } from "@/lib/blobs/blob-store";

/**
 * An agent may read an artifact only while a replica on its own server runs
 * (or is about to run) a version with that digest: a credential stolen from
 * one host cannot pull every model in the registry.
 */
export async function openArtifactForAgent(options: { agent: AgentIdentity; sha256: string; blobDir: string; range: string | null; request: RequestContext }) {
  const { agent } = options;
  const replica = await getDb().replica.findFirst({
    where: { serverId: agent.serverId, modelVersion: { sha256: options.sha256 } },
    select: { modelVersion: { select: { id: true, label: true, sizeBytes: true, model: { select: { name: true } } } } },
  });
  if (!replica) {
    throw new BerthError("forbidden", "This host's desired state names no artifact with that digest");
  }
  const version = replica.modelVersion;
  await getDb().$transaction((tx) =>
      recordAuditEvent(tx, {
        actor: { kind: "AGENT", id: agent.serverId, label: agent.label },
        request: options.request,
        action: "artifact.download",
        target: { kind: "model_version", id: version.id, label: `${version.model.name}@${version.label}` },
        details: { sha256: options.sha256, sizeBytes: Number(version.sizeBytes), server: agent.serverName, range: options.range },
      }),
  );
  return { path: blobPath(options.blobDir, options.sha256), size: Number(version.sizeBytes), sha256: options.sha256, fileName: `${version.model.name}-${version.label}` };
}
