import { z } from "zod";
import { defineApi } from "@/lib/http/api";

const ZCheckpoint = z
  .object({ at: z.string(), throughSeq: z.string(), continuesFromHash: z.string(), purgedCount: z.string(), purgedBefore: z.string() })
  .nullable()
  .describe("The newest retention checkpoint: where the chain continues after purged events");

export const verifyAuditChainApi = defineApi({
  method: "get",
  path: "/api/v1/audit/verification",
  tag: "Audit",
  summary: "Walk the whole audit chain now and name the first event that fails",
  description: "Every event must follow the one before it and match its own hash. The run is itself an audit event (FAILURE when the chain is broken).",
  permission: "audit.read",
  action: "audit.verify",
  response: z.union([
    z.object({ ok: z.literal(true), checked: z.number(), durationMs: z.number(), headSeq: z.string().nullable(), headHash: z.string(), checkpoint: ZCheckpoint }),
    z.object({
      ok: z.literal(false),
      checked: z.number(),
      durationMs: z.number(),
      seq: z.string().describe("The first event that fails"),
      problem: z.enum(["hash_mismatch", "broken_link", "out_of_order"]),
      message: z.string(),
      checkpoint: ZCheckpoint,
    }),
  ]),
});
