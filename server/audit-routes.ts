import { once } from "node:events";
import { auditActor } from "@/lib/auth/actor";
import { openAuditExport } from "@/lib/audit/export";
import { handleNode } from "@/lib/http/node-api";
import { exportAuditEventsApi } from "@/app/api/v1/audit/events/schemas";

/**
 * Exports stream millions of rows; answered here rather than through Next so
 * the bytes go straight to the socket, with backpressure: a slow client
 * pauses the database reads instead of filling memory.
 */
export const exportAuditEvents = handleNode(exportAuditEventsApi, async ({ actor, request, query, req, res }) => {
  const { format, ...filter } = query;
  const opened = await openAuditExport({ actor: auditActor(actor), request, filter, format });
  res.writeHead(200, {
    "content-type": opened.contentType,
    "content-disposition": `attachment; filename="${opened.fileName}"`,
    "cache-control": "no-store",
    "x-request-id": request.requestId,
  });
  let closed = false;
  req.socket.once("close", () => (closed = true));
  for await (const chunk of opened.chunks) {
    if (closed) return;
    if (!res.write(chunk)) await Promise.race([once(res, "drain"), once(res, "close")]);
  }
  res.end();
});
