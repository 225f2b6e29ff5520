import { describe, expect, it } from "vitest";
import { matchInferencePath } from "./paths";

describe("the gateway's allowed paths", () => {
  it("forwards the Open Inference Protocol's health, metadata and infer paths", () => {
    expect(matchInferencePath("OPEN_INFERENCE_V2", "v2/models/iris/infer", "POST")).toMatchObject({ ok: true, path: { upstreamPath: "/v2/models/iris/infer", pattern: "v2/models/{model}/infer" } });
    for (const path of ["v2/health/live", "v2/health/ready", "v2/models/iris", "v2/models/iris-v2.onnx/ready"]) expect(matchInferencePath("OPEN_INFERENCE_V2", path, "GET").ok, path).toBe(true);
  });

  it("forwards OpenAI's paths to OpenAI runtimes only", () => {
    expect(matchInferencePath("OPENAI", "v1/chat/completions", "POST").ok).toBe(true);
    expect(matchInferencePath("OPENAI", "v1/models", "GET").ok).toBe(true);
    expect(matchInferencePath("OPEN_INFERENCE_V2", "v1/chat/completions", "POST")).toMatchObject({ ok: false, reason: "not_found" });
    expect(matchInferencePath("OPENAI", "v2/models/x/infer", "POST").ok).toBe(false);
    expect(matchInferencePath("CUSTOM", "v2/health/ready", "GET")).toMatchObject({ ok: false, allowed: [] });
  });

  it("refuses hostile and unlisted paths", () => {
    for (const path of ["", "v2", "v2/models/../../admin", "v2/models/%2e%2e/infer", "v2/models/a/b/infer", "v2/models/iris/infer/", "/v2/health/ready", "v2/repository/index", "v2/models/.hidden/ready", "v2/models/x?y/infer", "v2/models/ x/infer"]) {
      expect(matchInferencePath("OPEN_INFERENCE_V2", path, "POST").ok, path).toBe(false);
      expect(matchInferencePath("OPEN_INFERENCE_V2", path, "GET").ok, path).toBe(false);
    }
  });

  it("says which methods a path takes", () => {
    expect(matchInferencePath("OPEN_INFERENCE_V2", "v2/models/iris/infer", "GET")).toEqual({ ok: false, reason: "method_not_allowed", allowed: ["POST"] });
    expect(matchInferencePath("OPEN_INFERENCE_V2", "v2/health/ready", "DELETE")).toMatchObject({ ok: false, reason: "method_not_allowed" });
  });
});
