import { handle } from "@/lib/http/api";
import { listAuditEvents } from "@/lib/audit/list-events";
import { listAuditEventsApi } from "./schemas";

export const GET = handle(listAuditEventsApi, async ({ query }) =>
  listAuditEvents({ limit: query.limit, before: query.before === undefined ? undefined : BigInt(query.before) }),
);
