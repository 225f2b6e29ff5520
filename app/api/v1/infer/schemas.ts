import { z } from "zod";
import { defineApi, type ApiSpec } from "@/lib/http/api";
import { ALLOWED_PATHS, INFERENCE_AUDIT_ACTION } from "@/lib/gateway/paths";

/**
 * The inference gateway forwards `/api/v1/infer/{deployment}/{path}` to a
 * ready replica (server/gateway.ts). OpenAPI has no multi-segment parameter,
 * so each path it forwards is documented on its own, generated from the same
 * table the gateway matches against (lib/gateway/paths.ts).
 */
const DESCRIPTIONS: Record<string, string> = {
  "v2/health/live": "Open Inference Protocol (KServe V2): server liveness",
  "v2/health/ready": "Open Inference Protocol: server readiness",
  "v2/models/{model}": "Open Inference Protocol: model metadata (inputs, outputs, datatypes, shapes)",
  "v2/models/{model}/ready": "Open Inference Protocol: model readiness",
  "v2/models/{model}/infer": "Open Inference Protocol: run inference. Body: `{\"inputs\": [{\"name\", \"datatype\", \"shape\", \"data\"}]}`",
  "v1/chat/completions": "OpenAI-compatible chat completions (streamed when the runtime streams)",
  "v1/completions": "OpenAI-compatible completions",
  "v1/embeddings": "OpenAI-compatible embeddings",
  "v1/models": "OpenAI-compatible model list",
};

const EXTRA = {
  404: "Unknown deployment, or a path the deployment's runtime protocol does not offer",
  405: "Method not allowed on this path",
  413: "Request body over BERTH_INFERENCE_MAX_BODY_BYTES",
  502: "No replica answered (each one that could safely be retried was)",
  503: "The deployment is not running, or has no ready replica",
  504: "The replica did not answer within BERTH_INFERENCE_TIMEOUT_SECONDS",
};

function gatewaySpec(protocol: string, pattern: string, methods: readonly string[]): ApiSpec {
  const method = methods.includes("POST") ? "post" : "get";
  const names = [...pattern.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return defineApi({
    method,
    path: `/api/v1/infer/{deployment}/${pattern}`,
    tag: "Inference",
    summary: `${DESCRIPTIONS[pattern] ?? pattern} (${protocol} runtimes)`,
    description:
      "Forwarded to a ready replica of the deployment (round robin), request and response streamed. " +
      "Needs an API token created with inference access (`canInfer`), or a signed-in user with the inference permission. " +
      "The response is the runtime's own; its `x-berth-replica` header names the replica that answered.",
    permission: "inference",
    // Refusals only: answered calls go to the inference access log (lib/gateway/access-log.ts).
    action: INFERENCE_AUDIT_ACTION,
    params: z.object(Object.fromEntries([["deployment", z.string()], ...names.map((n) => [n, z.string()])])) as z.ZodObject,
    ...(method === "post" ? { rawBody: { contentType: "application/json", description: "Passed to the runtime unchanged" } } : {}),
    response: z.unknown().describe("The runtime's response, unchanged"),
    extraResponses: EXTRA,
  });
}

export const GATEWAY_SPECS: ApiSpec[] = Object.entries(ALLOWED_PATHS).flatMap(([protocol, rules]) => rules.map((r) => gatewaySpec(protocol, r.pattern, r.methods)));
