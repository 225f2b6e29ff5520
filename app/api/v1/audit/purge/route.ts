import { handle } from "@/lib/http/api";
import { auditActor } from "@/lib/auth/actor";
import { purgeAuditEvents } from "@/lib/audit/retention";
import { purgeAuditEventsApi } from "./schemas";

export const POST = handle(purgeAuditEventsApi, async ({ actor, request, body }) =>
  purgeAuditEvents({ before: new Date(body.before), actor: auditActor(actor), request }),
);
