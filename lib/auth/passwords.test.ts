import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./passwords";
import { displayPrefix, generateSecret, hashSecret } from "./secrets";

describe("passwords", () => {
  it("verifies the right password and rejects a wrong one", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored).not.toContain("correct horse");
    await expect(verifyPassword("correct horse battery", stored)).resolves.toBe(true);
    await expect(verifyPassword("correct horse batterY", stored)).resolves.toBe(false);
  });

  it("salts: the same password hashes differently twice", async () => {
    expect(await hashPassword("same password here")).not.toBe(await hashPassword("same password here"));
  });

  it("rejects a malformed stored hash instead of throwing", async () => {
    await expect(verifyPassword("x", "md5$abc")).resolves.toBe(false);
  });
});

describe("bearer secrets", () => {
  it("are prefixed, random, and stored only as SHA-256", () => {
    const a = generateSecret("berth");
    const b = generateSecret("berth");
    expect(a).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(a)).not.toContain(a.slice(6));
    expect(displayPrefix(a)).toBe(a.slice(0, 12));
  });
});
