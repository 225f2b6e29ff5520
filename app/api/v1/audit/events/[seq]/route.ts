import { handle } from "@/lib/http/api";
import { BerthError } from "@/lib/http/errors";
import { getAuditEvent } from "@/lib/audit/list-events";
import { getAuditEventApi } from "../schemas";

export const GET = handle(getAuditEventApi, async ({ params }) => {
  const event = await getAuditEvent(BigInt(params.seq));
  if (!event) throw new BerthError("not_found", `No audit event ${params.seq} (it may have been purged by retention)`);
  return event;
});
