import { csvRecord } from "@/lib/http/csv";
import type { Prisma } from "@prisma/client";
import { z } from "zod";
import { recordStandaloneAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { getDb } from "@/lib/db/client";

/** Reading the inference access log: keyset-paged JSON, and a streamed CSV export with the same filters. */
export const ZInferenceLogFilter = z
  .object({
    deployment: z.string().min(1).max(128).optional().describe("Deployment name"),
    from: z.iso.datetime({ offset: true }).optional().describe("Earliest time (inclusive), ISO 8601"),
    to: z.iso.datetime({ offset: true }).optional().describe("Latest time (exclusive), ISO 8601"),
    status: z
      .string()
      .regex(/^([1-5]xx|[1-5]\d\d)$/, { message: "status is a code (503) or a class (5xx)" })
      .optional()
      .describe("A status code (503) or class (5xx)"),
  })
  .strict();
export type TInferenceLogFilter = z.infer<typeof ZInferenceLogFilter>;

export type InferenceLogView = {
  id: string;
  at: string;
  deploymentId: string;
  deployment: string;
  replicaId: string | null;
  tokenId: string | null;
  tokenLabel: string | null;
  clientAddress: string | null;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestBytes: number;
  responseBytes: number;
  requestId: string | null;
};

function whereOf(filter: TInferenceLogFilter, before?: bigint): Prisma.InferenceLogEntryWhereInput {
  const status = filter.status
    ? filter.status.endsWith("xx")
      ? { gte: Number(filter.status[0]) * 100, lt: Number(filter.status[0]) * 100 + 100 }
      : Number(filter.status)
    : undefined;
  return {
    ...(filter.deployment ? { deploymentName: filter.deployment } : {}),
    ...(filter.from || filter.to ? { at: { ...(filter.from ? { gte: new Date(filter.from) } : {}), ...(filter.to ? { lt: new Date(filter.to) } : {}) } } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(before !== undefined ? { id: { lt: before } } : {}),
  };
}

type Row = Prisma.InferenceLogEntryGetPayload<object>;
function view(row: Row): InferenceLogView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    deploymentId: row.deploymentId,
    deployment: row.deploymentName,
    replicaId: row.replicaId,
    tokenId: row.tokenId,
    tokenLabel: row.tokenLabel,
    clientAddress: row.clientAddress,
    method: row.method,
    path: row.path,
    status: row.status,
    latencyMs: Number(row.latencyMs.toFixed(3)),
    requestBytes: Number(row.requestBytes),
    responseBytes: Number(row.responseBytes),
    requestId: row.requestId,
  };
}

/** Newest first, keyset paged by id: `cursor` is the previous page's `nextCursor`. */
export async function listInferenceLog(options: { filter: TInferenceLogFilter; limit: number; cursor?: string }): Promise<{ entries: InferenceLogView[]; nextCursor: string | null }> {
  const rows = await getDb().inferenceLogEntry.findMany({
    where: whereOf(options.filter, options.cursor === undefined ? undefined : BigInt(options.cursor)),
    orderBy: { id: "desc" },
    take: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  return { entries: page.map(view), nextCursor: rows.length > options.limit ? (page.at(-1)?.id.toString() ?? null) : null };
}

export const CSV_COLUMNS = ["id", "at", "deployment", "deploymentId", "replicaId", "tokenId", "tokenLabel", "clientAddress", "method", "path", "status", "latencyMs", "requestBytes", "responseBytes", "requestId"] as const;


/**
 * The export as a stream of CSV text, read from the database a page at a
 * time (keyset), so any range costs constant memory. The export itself is
 * an audit event (who took which slice of the log), written before the first byte.
 */
export async function exportInferenceLogCsv(options: { actor: Actor; request: RequestContext; filter: TInferenceLogFilter; pageSize?: number }): Promise<ReadableStream<Uint8Array>> {
  await recordStandaloneAuditEvent({
    actor: auditActor(options.actor),
    request: options.request,
    action: "inference_log.export",
    target: { kind: "inference_log", label: options.filter.deployment ?? "all deployments" },
    details: { filter: options.filter },
  });
  const encoder = new TextEncoder();
  const pageSize = options.pageSize ?? 1000;
  let cursor: bigint | undefined;
  let headerSent = false;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(",")}\r\n`));
        return;
      }
      if (done) return controller.close();
      const rows = await getDb().inferenceLogEntry.findMany({ where: whereOf(options.filter, cursor), orderBy: { id: "desc" }, take: pageSize });
      if (rows.length < pageSize) done = true;
      if (rows.length === 0) return controller.close();
      cursor = rows.at(-1)!.id;
      const text = rows
        .map(view)
        .map((v) => csvRecord(CSV_COLUMNS.map((c) => v[c])))
        .join("");
      controller.enqueue(encoder.encode(text));
    },
  });
}
