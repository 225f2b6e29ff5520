import { z } from "zod";
import { defineApi } from "@/lib/http/api";

export const openApiDocument = defineApi({
  method: "get",
  path: "/api/v1/openapi.json",
  tag: "Meta",
  summary: "This OpenAPI 3.1 document",
  permission: "read",
  response: z.record(z.string(), z.unknown()),
});
