import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const purgeAuditEventsApi = defineApi({
  method: "post",
  path: "/api/v1/audit/purge",
  tag: "Audit",
  summary: "Delete audit events older than a time, keeping the rest of the chain verifiable",
  description:
    "Records a checkpoint (the hash the remaining chain continues from) and an audit.purge event naming it, in one transaction. BERTH_AUDIT_RETENTION_DAYS does the same hourly. Administrators only.",
  permission: "audit.purge",
  action: "audit.purge",
  body: z
    .object({
      before: z.iso
        .datetime({ offset: true, message: "before must be an ISO 8601 time such as 2025-01-01T00:00:00Z" })
        .refine((value) => Date.parse(value) <= Date.now() - 86_400_000, "before must be at least a day in the past: a purge keeps the last day")
        .describe("Events strictly older than this are deleted"),
    })
    .strict(),
  response: z.object({
    purged: z.number().int(),
    checkpoint: z.object({ at: z.string(), throughSeq: z.string(), continuesFromHash: z.string(), purgedCount: z.string(), purgedBefore: z.string() }).nullable(),
  }),
});
