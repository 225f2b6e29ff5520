import type { Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";

/** One line on a deployment's timeline (the page's "Events"); not the audit log, which records who did what. */
export async function addDeploymentEvent(
  tx: Tx | Sql,
  deploymentId: string,
  kind: string,
  message: string,
  replica?: { id: string } | null,
  serverName?: string | null,
): Promise<void> {
  await asSql(tx).query("INSERT INTO deployment_events (deployment_id, at, kind, message, replica_id, server_name) VALUES ($1::uuid, clock_timestamp(), $2, $3, $4, $5)", [
    deploymentId,
    kind,
    message.slice(0, 2000),
    replica?.id ?? null,
    serverName ?? null,
  ]);
}
