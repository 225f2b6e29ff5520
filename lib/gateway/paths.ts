import type { RuntimeProtocol } from "@prisma/client";

/**
 * The paths the gateway forwards, per runtime protocol. Everything else is a
 * 404: a deployment's container may serve more (metrics, admin endpoints),
 * and none of that is for inference clients.
 */
export type InferencePath = {
  /** Upstream path, e.g. "/v2/models/iris/infer" (the query string is kept separately). */
  upstreamPath: string;
  /** The pattern it matched, for metrics and the OpenAPI document: "v2/models/{model}/infer". */
  pattern: string;
  methods: readonly string[];
};

/** The audit action of a refused gateway call; successful calls go to the inference access log, not the audit log. */
export const INFERENCE_AUDIT_ACTION = "inference.request";

type Rule = { pattern: string; regex: RegExp; methods: readonly string[] };

// One path segment: a model name as runtimes accept it. No dots-only segments, no encoded slashes.
const SEGMENT = "([A-Za-z0-9_][A-Za-z0-9._-]{0,127})";

function rule(pattern: string, methods: readonly string[]): Rule {
  const source = pattern.replace(/\{\w+\}/g, SEGMENT);
  return { pattern, regex: new RegExp(`^${source}$`), methods };
}

export const ALLOWED_PATHS: Record<RuntimeProtocol, readonly Rule[]> = {
  OPEN_INFERENCE_V2: [
    rule("v2/health/live", ["GET", "HEAD"]),
    rule("v2/health/ready", ["GET", "HEAD"]),
    rule("v2/models/{model}", ["GET", "HEAD"]),
    rule("v2/models/{model}/ready", ["GET", "HEAD"]),
    rule("v2/models/{model}/infer", ["POST"]),
  ],
  OPENAI: [
    rule("v1/chat/completions", ["POST"]),
    rule("v1/completions", ["POST"]),
    rule("v1/embeddings", ["POST"]),
    rule("v1/models", ["GET", "HEAD"]),
  ],
  // A custom runtime's paths are its own business; the gateway does not guess them.
  CUSTOM: [],
};

export type PathMatch = { ok: true; path: InferencePath } | { ok: false; reason: "not_found" | "method_not_allowed"; allowed: string[] };

/** Whether `rest` (the part after /api/v1/infer/{deployment}/, no query) may be forwarded to this protocol's runtime. */
export function matchInferencePath(protocol: RuntimeProtocol, rest: string, method: string): PathMatch {
  const rules = ALLOWED_PATHS[protocol];
  const allowed = rules.map((r) => r.pattern);
  for (const r of rules) {
    if (!r.regex.test(rest)) continue;
    if (!r.methods.includes(method)) return { ok: false, reason: "method_not_allowed", allowed: [...r.methods] };
    return { ok: true, path: { upstreamPath: `/${rest}`, pattern: r.pattern, methods: r.methods } };
  }
  return { ok: false, reason: "not_found", allowed };
}
