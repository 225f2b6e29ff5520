import { handle } from "@/lib/http/api";
import { exportInferenceLogCsv } from "@/lib/gateway/inference-log";
import { exportInferenceLogApi } from "./schemas";

export const GET = handle(exportInferenceLogApi, async ({ actor, request, query }) => {
  const stream = await exportInferenceLogCsv({ actor, request, filter: query });
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="inference-log-${new Date().toISOString().slice(0, 10)}.csv"`,
      "cache-control": "no-store",
      ...(request.requestId ? { "x-request-id": request.requestId } : {}),
    },
  });
});
