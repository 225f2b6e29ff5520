import type { ServerResponse } from "node:http";
import { auditActor } from "@/lib/auth/actor";
import { openAuditExport } from "@/lib/audit/export";
import { handleNode } from "@/lib/http/node-api";
import { exportAuditEventsApi } from "@/app/api/v1/audit/events/schemas";

/** Waits for the socket to drain or the client to go, leaving no listener behind (an export waits once per batch: a hundred times for a million rows). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Exports stream millions of rows; answered here rather than through Next so
 * the bytes go straight to the socket, with backpressure: a slow client
 * pauses the database reads instead of filling memory.
 */
export const exportAuditEvents = handleNode(exportAuditEventsApi, async ({ actor, request, query, req, res }) => {
  const { format, ...filter } = query;
  const opened = await openAuditExport({ actor: auditActor(actor), request, filter, format });
  try {
    res.writeHead(200, {
      "content-type": opened.contentType,
      "content-disposition": `attachment; filename="${opened.fileName}"`,
      "cache-control": "no-store",
      "x-request-id": request.requestId,
    });
    let closed = false;
    req.socket.once("close", () => (closed = true));
    // Leaving the loop early ends the generator, which closes the export's database connection (and with it the COPY).
    for await (const chunk of opened.chunks) {
      if (closed) return;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    res.end();
  } finally {
    opened.close();
  }
});
