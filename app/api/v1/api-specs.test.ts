import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "@/lib/http/openapi";
import { matchInferencePath, ALLOWED_PATHS } from "@/lib/gateway/paths";
import { GATEWAY_PREFIX, GATEWAY_SPECS, NODE_ROUTES, TUS_SPECS } from "@/server/routes";
import { API_SPECS } from "./api-specs";

const apiRoot = path.resolve(import.meta.dirname, "..");

function routeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return routeFiles(full);
    return entry === "route.ts" ? [full] : [];
  });
}

/** Each operation a route file serves, as "METHOD /openapi/{path}". next-auth's own routes are not Berth's API. */
function servedOperations(): string[] {
  return routeFiles(apiRoot)
    .filter((file) => !file.includes(`${path.sep}auth${path.sep}[...nextauth]`))
    .flatMap((file) => {
      const urlPath = `/api/${path.relative(apiRoot, path.dirname(file)).split(path.sep).join("/")}`.replace(/\[([^\]]+)\]/g, "{$1}");
      const source = readFileSync(file, "utf8");
      return [...source.matchAll(/export const (GET|POST|PUT|PATCH|DELETE)\b/g)].map((m) => `${m[1]} ${urlPath}`);
    })
    // The byte-carrying paths served by server/ ahead of Next.
    .concat([...NODE_ROUTES.map((r) => r.spec), ...TUS_SPECS, ...GATEWAY_SPECS].map((spec) => `${spec.method.toUpperCase()} ${spec.path}`))
    .sort();
}

describe("the OpenAPI document", () => {
  it("describes exactly the operations the route files serve", () => {
    const documented = API_SPECS.map((spec) => `${spec.method.toUpperCase()} ${spec.path}`).sort();
    expect(servedOperations().length).toBeGreaterThan(5);
    expect(documented).toEqual(servedOperations());
  });

  it("documents each path the inference gateway forwards, and only those", () => {
    // The gateway prefix route answers any method under /api/v1/infer/; its specs must be exactly the allowed paths.
    const forwarded = Object.entries(ALLOWED_PATHS).flatMap(([protocol, rules]) => rules.map((r) => `${protocol} ${r.pattern}`));
    expect(GATEWAY_SPECS).toHaveLength(forwarded.length);
    for (const spec of GATEWAY_SPECS) {
      expect(spec.path.startsWith(`${GATEWAY_PREFIX}{deployment}/`), spec.path).toBe(true);
      const rest = spec.path.slice(`${GATEWAY_PREFIX}{deployment}/`.length).replace(/\{\w+\}/g, "m");
      const matches = Object.keys(ALLOWED_PATHS).filter((protocol) => matchInferencePath(protocol as keyof typeof ALLOWED_PATHS, rest, spec.method.toUpperCase()).ok);
      expect(matches.length, spec.path).toBe(1);
      expect(spec.permission).toBe("inference");
    }
  });

  it("every /api/v1 operation requires authentication (enrolment authenticates by its one-time token)", () => {
    const open = API_SPECS.filter((spec) => spec.path.startsWith("/api/v1/") && spec.permission === "public").map((s) => `${s.method} ${s.path}`);
    expect(open).toEqual(["post /api/v1/agent/enrol"]);
  });

  it("generates a valid-looking OpenAPI 3.1 document with every path", () => {
    const doc = buildOpenApiDocument(API_SPECS);
    expect(doc.openapi).toBe("3.1.0");
    for (const spec of API_SPECS) expect(doc.paths?.[spec.path]?.[spec.method], `${spec.method} ${spec.path}`).toBeDefined();
    const createToken = doc.paths?.["/api/v1/tokens"]?.post;
    expect(JSON.stringify(createToken?.requestBody)).toContain('"role"');
    expect(Object.keys(createToken?.responses ?? {})).toEqual(expect.arrayContaining(["201", "400", "401", "403"]));
  });
});
