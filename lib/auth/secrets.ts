import { createHash, randomBytes } from "node:crypto";

/**
 * Bearer secrets (API tokens, later agent credentials): 32 random bytes,
 * prefixed so a leaked one is recognisable in logs and secret scanners.
 * Only the SHA-256 is stored: the secret has full entropy, so a slow hash
 * adds nothing and would cost every API call.
 */
export function generateSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString("base64url")}`;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, secret.indexOf("_") + 7);
}
