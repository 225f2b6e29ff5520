import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Secrets Berth must hand back later (registry passwords for agents) are
 * sealed with AES-256-GCM under BERTH_SEALING_KEY, which `npm start` reads
 * from the data folder (generated once, 0600) unless it is set. Replicas of
 * the control plane must share it. Sealed form: v1.<iv>.<tag>.<ciphertext>, base64url.
 */
function key(): Buffer {
  const material = process.env.BERTH_SEALING_KEY;
  if (!material) throw new Error("BERTH_SEALING_KEY is not set: Berth cannot store or read sealed secrets");
  return createHash("sha256").update(`berth-sealing:${material}`).digest();
}

export function seal(plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key(), iv);
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
}

export function unseal(sealed: string): string {
  const [version, iv, tag, data] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || data === undefined) throw new Error("not a sealed secret");
  const decipher = createDecipheriv("aes-256-gcm", key(), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
}
