import { describe, expect, it } from "vitest";
import { auditedUrl } from "./webhooks";

describe("auditedUrl", () => {
  it("keeps scheme, host and path, and drops the query string", () => {
    expect(auditedUrl("https://alerts.internal/berth")).toBe("https://alerts.internal/berth");
    expect(auditedUrl("https://hooks.chat.example/incoming?token=abc123&x=1")).toBe("https://hooks.chat.example/incoming?…");
    expect(auditedUrl("http://10.0.0.5:8080/a/b")).toBe("http://10.0.0.5:8080/a/b");
  });
});
