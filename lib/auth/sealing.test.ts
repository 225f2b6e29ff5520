import { beforeAll, describe, expect, it } from "vitest";
import { seal, unseal } from "./sealing";

describe("sealed secrets", () => {
  beforeAll(() => {
    process.env.BERTH_SEALING_KEY = "test-key-material";
  });

  it("round-trips and never contains the plain text", () => {
    const sealed = seal("registry-password-123");
    expect(sealed).not.toContain("registry-password-123");
    expect(unseal(sealed)).toBe("registry-password-123");
    expect(seal("same")).not.toBe(seal("same"));
  });

  it("refuses a tampered or foreign-key secret", () => {
    const sealed = seal("s3cret");
    const parts = sealed.split(".");
    const flipped = Buffer.from(parts[3]!, "base64url");
    flipped[0] = flipped[0]! ^ 1;
    expect(() => unseal([parts[0], parts[1], parts[2], flipped.toString("base64url")].join("."))).toThrow();
    process.env.BERTH_SEALING_KEY = "another-key";
    expect(() => unseal(sealed)).toThrow();
    process.env.BERTH_SEALING_KEY = "test-key-material";
  });
});
