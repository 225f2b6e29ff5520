import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZInferenceLogFilter } from "@/lib/gateway/inference-log";

export const exportInferenceLogApi = defineApi({
  method: "get",
  path: "/api/v1/inference-log/export.csv",
  tag: "Inference",
  summary: "The inference access log as CSV, streamed, newest first (an audited export)",
  permission: "read",
  action: "inference_log.export",
  query: ZInferenceLogFilter,
  response: z.string(),
  rawResponse: { contentType: "text/csv", description: "Header row, then one row per request; same filters as the JSON list" },
});
