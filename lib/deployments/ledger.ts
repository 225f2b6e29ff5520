import type { LedgerEntry } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import { getDb } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import { csvRecord } from "@/lib/http/csv";

/**
 * The deployment ledger: which artifact ran where, in which container, from
 * when to when, started and stopped by whom. Written from agents' reports
 * (a container id appearing opens an entry, its disappearance closes it),
 * so it records what ran, not what was asked for.
 */
export type LedgerView = {
  id: string;
  deployment: string;
  deploymentId: string;
  replicaId: string;
  server: string;
  model: string;
  version: string;
  modelVersionId: string;
  sha256: string;
  containerId: string;
  startedAt: string;
  startedBy: string;
  stoppedAt: string | null;
  stoppedBy: string | null;
  stopReason: string | null;
};

export function ledgerView(entry: LedgerEntry): LedgerView {
  return {
    id: entry.id.toString(),
    deployment: entry.deploymentName,
    deploymentId: entry.deploymentId,
    replicaId: entry.replicaId,
    server: entry.serverName,
    model: entry.modelName,
    version: entry.modelVersionLabel,
    modelVersionId: entry.modelVersionId,
    sha256: entry.sha256,
    containerId: entry.containerId,
    startedAt: entry.startedAt.toISOString(),
    startedBy: entry.startedBy,
    stoppedAt: entry.stoppedAt?.toISOString() ?? null,
    stoppedBy: entry.stoppedBy,
    stopReason: entry.stopReason,
  };
}

/** Opened from an agent's report (plain SQL, lib/db/sql.ts: it is in the status report's transaction). */
export async function openLedgerEntry(
  tx: Tx | Sql,
  entry: Omit<LedgerEntry, "id" | "stoppedAt" | "stoppedBy" | "stopReason">,
): Promise<void> {
  await asSql(tx).query(
    `INSERT INTO deployment_ledger (deployment_id, deployment_name, replica_id, server_id, server_name, model_name, model_version_id, model_version_label, sha256, container_id, started_at, started_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz, $12)`,
    [
      entry.deploymentId,
      entry.deploymentName,
      entry.replicaId,
      entry.serverId,
      entry.serverName,
      entry.modelName,
      entry.modelVersionId,
      entry.modelVersionLabel,
      entry.sha256,
      entry.containerId,
      entry.startedAt.toISOString(),
      entry.startedBy,
    ],
  );
}

export async function closeLedgerEntries(tx: Tx | Sql, where: { replicaId: string; containerId?: string }, stop: { by: string; reason: string; at?: Date }): Promise<void> {
  await asSql(tx).query(
    `UPDATE deployment_ledger SET stopped_at = $3::timestamptz, stopped_by = $4, stop_reason = $5
      WHERE replica_id = $1 AND ($2::text IS NULL OR container_id = $2::text) AND stopped_at IS NULL`,
    [where.replicaId, where.containerId ?? null, (stop.at ?? new Date()).toISOString(), stop.by, stop.reason],
  );
}

export type LedgerQuery = { deploymentId?: string; modelVersionId?: string; at?: Date; limit: number };

/** Entries newest first; with `at`, only what was running at that moment. */
export async function listLedger(query: LedgerQuery): Promise<LedgerView[]> {
  const entries = await getDb().ledgerEntry.findMany({
    where: {
      ...(query.deploymentId ? { deploymentId: query.deploymentId } : {}),
      ...(query.modelVersionId ? { modelVersionId: query.modelVersionId } : {}),
      ...(query.at ? { startedAt: { lte: query.at }, OR: [{ stoppedAt: null }, { stoppedAt: { gt: query.at } }] } : {}),
    },
    orderBy: { id: "desc" },
    take: query.limit,
  });
  return entries.map(ledgerView);
}

const LEDGER_COLUMNS = ["deployment", "server", "model", "version", "sha256", "containerId", "startedAt", "startedBy", "stoppedAt", "stoppedBy", "stopReason"] as const;

/** The ledger as JSON, or as a CSV file to hand an auditor. */
export function ledgerResponse(entries: LedgerView[], format: "json" | "csv", fileName: string): { entries: LedgerView[] } | Response {
  if (format === "json") return { entries };
  const body = csvRecord([...LEDGER_COLUMNS]) + entries.map((entry) => csvRecord(LEDGER_COLUMNS.map((column) => entry[column]))).join("");
  return new Response(body, { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${fileName}.csv"` } });
}
