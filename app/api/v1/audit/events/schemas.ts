import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { AUDIT_EXPORT_FORMATS } from "@/lib/audit/export-formats";
import { checkTimeOrder, ZAuditFilterFields } from "@/lib/audit/filters";

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

const ZSeq = z.string().regex(/^\d{1,19}$/, { message: "an event's seq is its number (digits only)" });

export const listAuditEventsApi = defineApi({
  method: "get",
  path: "/api/v1/audit/events",
  tag: "Audit",
  summary: "Audit events, newest first, filtered and keyset paged",
  permission: "audit.read",
  query: checkTimeOrder(
    ZAuditFilterFields.extend({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      before: ZSeq.optional().describe("Return events older than this seq: the `nextBefore` of the previous page"),
    }).strict(),
  ),
  response: z.object({ events: z.array(ZAuditEvent), nextBefore: z.string().nullable() }),
});

export const getAuditEventApi = defineApi({
  method: "get",
  path: "/api/v1/audit/events/{seq}",
  tag: "Audit",
  summary: "One audit event with its hashes, whether its content still matches its hash, and its neighbours",
  permission: "audit.read",
  params: z.object({ seq: ZSeq }),
  response: ZAuditEvent.extend({
    contentMatchesHash: z.boolean(),
    previousSeq: z.string().nullable(),
    nextSeq: z.string().nullable(),
  }),
});

export const exportAuditEventsApi = defineApi({
  method: "get",
  path: "/api/v1/audit/export",
  tag: "Audit",
  summary: "Export a filtered range of the audit log, streamed, as CSV or JSON Lines",
  description:
    "JSON Lines carries the hash chain of the range (events the filter leaves out appear as link records with only their hashes) and anchors at both ends, so `berth audit verify FILE` can check it offline (docs/audit-verification.md). Every export is itself an audit event.",
  permission: "audit.read",
  action: "audit.export",
  query: checkTimeOrder(
    ZAuditFilterFields.extend({
      format: z.enum(AUDIT_EXPORT_FORMATS, { message: "format must be csv or jsonl" }).default("jsonl"),
    }).strict(),
  ),
  response: z.string(),
  rawResponse: { contentType: "application/x-ndjson or text/csv", description: "The export, streamed" },
});
