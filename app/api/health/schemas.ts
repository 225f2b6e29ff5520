import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const health = defineApi({
  method: "get",
  path: "/api/health",
  tag: "Operations",
  summary: "Liveness and database reachability (no authentication); 503 when the database does not answer",
  permission: "public",
  response: z.object({
    status: z.enum(["ok", "unavailable"]),
    version: z.string(),
    database: z.object({ ok: z.boolean(), latencyMs: z.number().optional(), error: z.string().optional() }),
  }),
});
