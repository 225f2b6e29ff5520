import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const ZMetricsBucket = z.object({
  start: z.iso.datetime().describe("Start of the 10-second window"),
  count: z.number().int(),
  errors: z.number().int().describe("Responses with status >= 500, and requests no replica answered"),
  p50: z.number().nullable().describe("Latency in milliseconds at the gateway; null for an empty window"),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});

export const deploymentMetricsApi = defineApi({
  method: "get",
  path: "/api/v1/deployments/{name}/metrics",
  tag: "Deployments",
  summary: "Recent inference traffic of a deployment: 10-second windows over the last 15 minutes",
  description: "Kept in memory by the control-plane process that served the requests; a restart starts empty.",
  permission: "read",
  params: z.object({ name: z.string().min(1).max(128) }).strict(),
  response: z.object({ windowSeconds: z.number().int(), buckets: z.array(ZMetricsBucket) }),
});
