import type { Tx } from "@/lib/db/client";

/** One line on a deployment's timeline (the page's "Events"); not the audit log, which records who did what. */
export async function addDeploymentEvent(
  tx: Tx,
  deploymentId: string,
  kind: string,
  message: string,
  replica?: { id: string } | null,
  serverName?: string | null,
): Promise<void> {
  await tx.deploymentEvent.create({ data: { deploymentId, kind, message: message.slice(0, 2000), replicaId: replica?.id ?? null, serverName: serverName ?? null } });
}
