import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BerthError } from "./errors";
import { readJsonBody, validate } from "./parse";

function request(body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  return new Request("http://berth.test/api/v1/x", { method: "POST", body, headers });
}

async function codeOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BerthError);
    return (error as BerthError).code;
  }
  throw new Error("expected a BerthError");
}

describe("readJsonBody", () => {
  it("parses a JSON object", async () => {
    await expect(readJsonBody(request('{"a":1}'), 100)).resolves.toEqual({ a: 1 });
  });

  it("refuses malformed JSON, empty bodies and other content types", async () => {
    expect(await codeOf(readJsonBody(request("{bad"), 100))).toBe("invalid_json");
    expect(await codeOf(readJsonBody(request("  "), 100))).toBe("invalid_json");
    expect(await codeOf(readJsonBody(request("a=1", { "content-type": "application/x-www-form-urlencoded" }), 100))).toBe("unsupported_media_type");
  });

  it("stops reading a body past the limit even when Content-Length is absent", async () => {
    const big = "x".repeat(5000);
    const streamed = new Request("http://berth.test/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      // @ts-expect-error Node's fetch needs duplex for a streamed body
      duplex: "half",
    });
    expect(await codeOf(readJsonBody(streamed, 1000))).toBe("payload_too_large");
  });
});

describe("validate", () => {
  const schema = z.object({ name: z.string().min(1), count: z.number().int() }).strict();

  it("returns typed data when valid", () => {
    expect(validate(schema, { name: "a", count: 2 }, "body")).toEqual({ name: "a", count: 2 });
  });

  it("names each wrong field, wrong type and unknown field", () => {
    try {
      validate(schema, { name: "", count: "2", extra: true }, "request body");
      throw new Error("should not pass");
    } catch (error) {
      const e = error as BerthError;
      expect(e.code).toBe("validation_failed");
      expect(e.message).toMatch(/^Invalid request body: /);
      const paths = (e.details as { issues: { path: string }[] }).issues.map((i) => i.path).sort();
      expect(paths).toEqual(["(body)", "count", "name"]);
    }
  });
});
