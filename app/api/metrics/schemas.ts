import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const prometheusMetrics = defineApi({
  method: "get",
  path: "/api/metrics",
  tag: "Operations",
  summary: "Prometheus metrics (text exposition format) of this control-plane process",
  description:
    "Per deployment: `berth_inference_requests_total{deployment,code}`, `berth_inference_errors_total{deployment}` " +
    "(status >= 500 or no upstream answer) and `berth_inference_request_duration_seconds{deployment}`; plus " +
    "`berth_http_requests_total{handler,code}` and Node's process metrics (`berth_process_*`, `berth_nodejs_*`). " +
    "Scrape with an API token that has the read permission (Prometheus `authorization: { credentials: ... }`).",
  permission: "read",
  response: z.string(),
  rawResponse: { contentType: "text/plain; version=0.0.4", description: "Prometheus text format" },
});
