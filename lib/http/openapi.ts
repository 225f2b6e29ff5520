import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import type { z } from "zod";
import { BERTH_VERSION } from "@/lib/version";
import { ZErrorBody, type ApiSpec } from "./api";

const ERROR_RESPONSES: Record<number, string> = {
  400: "Malformed or invalid input; `error.details.issues` names each field",
  401: "Not signed in, or the API token is unknown, expired or revoked",
  403: "Signed in, but the role does not allow this",
  404: "No such resource",
  409: "Conflicts with the current state",
  413: "Request body too large",
  415: "Wrong Content-Type",
};

/** The OpenAPI 3.1 document, generated from the same specs the route files serve. */
export function buildOpenApiDocument(specs: readonly ApiSpec[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", "bearerToken", {
    type: "http",
    scheme: "bearer",
    description: "An API token from Settings or `berth admin create-token`",
  });
  registry.registerComponent("securitySchemes", "agentCredential", { type: "http", scheme: "bearer", description: "A host agent's own credential, from enrolment" });
  registry.registerComponent("securitySchemes", "sessionCookie", { type: "apiKey", in: "cookie", name: "next-auth.session-token" });
  for (const spec of specs) {
    const errors = Object.fromEntries(
      Object.entries(ERROR_RESPONSES)
        .filter(([status]) => spec.permission !== "public" || !["401", "403"].includes(status))
        .map(([status, description]) => [status, { description, content: { "application/json": { schema: ZErrorBody } } }]),
    );
    registry.registerPath({
      method: spec.method,
      path: spec.path,
      summary: spec.summary,
      description: spec.description,
      tags: [spec.tag],
      security: spec.permission === "public" ? [] : spec.permission === "agent" ? [{ agentCredential: [] }] : [{ bearerToken: [] }, { sessionCookie: [] }],
      ...(spec.permission === "public" || spec.permission === "agent" ? {} : { "x-berth-permission": spec.permission }),
      request: {
        ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
        ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
        ...(spec.body ? { body: { required: true, content: { "application/json": { schema: spec.body } } } } : {}),
        ...(spec.rawBody
          ? { body: { required: true, description: spec.rawBody.description, content: { [spec.rawBody.contentType]: { schema: { type: "string", format: "binary" } } } } }
          : {}),
      },
      responses: {
        [spec.status ?? 200]: spec.rawResponse
          ? { description: spec.rawResponse.description, content: { [spec.rawResponse.contentType]: { schema: { type: "string", format: "binary" } } } }
          : { description: "Success", content: { "application/json": { schema: spec.response } } },
        ...Object.fromEntries(Object.entries(spec.extraResponses ?? {}).map(([status, description]) => [status, { description }])),
        ...errors,
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Berth API",
      version: BERTH_VERSION,
      description: "On-premises model deployment control plane. Authenticate with `Authorization: Bearer <API token>`.",
    },
    servers: [{ url: "/" }],
  });
}
