import { handle } from "@/lib/http/api";
import { buildOpenApiDocument } from "@/lib/http/openapi";
import { API_SPECS } from "../api-specs";
import { openApiDocument } from "./schemas";

let cached: ReturnType<typeof buildOpenApiDocument> | undefined;

export const GET = handle(openApiDocument, async () => (cached ??= buildOpenApiDocument(API_SPECS)));
