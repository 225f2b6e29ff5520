import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const ZAuditEvent = z.object({
  seq: z.string().describe("Position in the chain (a 64-bit integer, as a string)"),
  at: z.iso.datetime(),
  actorKind: z.enum(["USER", "API_TOKEN", "AGENT", "SYSTEM", "ANONYMOUS"]),
  actorId: z.string().nullable(),
  actorLabel: z.string(),
  action: z.string(),
  targetKind: z.string().nullable(),
  targetId: z.string().nullable(),
  targetLabel: z.string().nullable(),
  outcome: z.enum(["SUCCESS", "FAILURE", "DENIED"]),
  sourceAddress: z.string().nullable(),
  requestId: z.string().nullable(),
  details: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});

export const listAuditEventsApi = defineApi({
  method: "get",
  path: "/api/v1/audit/events",
  tag: "Audit",
  summary: "Audit events, newest first, keyset paged",
  permission: "audit.read",
  query: z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      before: z
        .string()
        .regex(/^\d{1,19}$/, { message: "before must be an event's seq (digits only)" })
        .optional()
        .describe("Return events older than this seq: the `nextBefore` of the previous page"),
    })
    .strict(),
  response: z.object({ events: z.array(ZAuditEvent), nextBefore: z.string().nullable() }),
});
