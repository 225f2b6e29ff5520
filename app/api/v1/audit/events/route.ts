import { handle } from "@/lib/http/api";
import { listAuditEvents } from "@/lib/audit/list-events";
import { listAuditEventsApi } from "./schemas";

export const GET = handle(listAuditEventsApi, async ({ query }) => {
  const { limit, before, ...filter } = query;
  return listAuditEvents({ filter, limit, before: before === undefined ? undefined : BigInt(before) });
});
