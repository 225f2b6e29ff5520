import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZInferenceLogFilter } from "@/lib/gateway/inference-log";

export const ZInferenceLogEntry = z.object({
  id: z.string().describe("A 64-bit integer, as a string"),
  at: z.iso.datetime(),
  deploymentId: z.string(),
  deployment: z.string(),
  replicaId: z.string().nullable().describe("The replica that answered (or was last tried)"),
  tokenId: z.string().nullable(),
  tokenLabel: z.string().nullable().describe("The API token's name and owner, or the signed-in user"),
  clientAddress: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  status: z.number().int(),
  latencyMs: z.number(),
  requestBytes: z.number().int(),
  responseBytes: z.number().int(),
  requestId: z.string().nullable(),
});

export const listInferenceLogApi = defineApi({
  method: "get",
  path: "/api/v1/inference-log",
  tag: "Inference",
  summary: "The inference access log, newest first, keyset paged",
  description: "One row per gateway request. Written in batches about a second after each request; kept BERTH_INFERENCE_LOG_RETENTION_DAYS days.",
  permission: "read",
  query: ZInferenceLogFilter.extend({
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, { message: "cursor is the nextCursor of the previous page" })
      .optional()
      .describe("The `nextCursor` of the previous page"),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  }).strict(),
  response: z.object({ entries: z.array(ZInferenceLogEntry), nextCursor: z.string().nullable() }),
});
