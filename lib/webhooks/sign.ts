import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`: what a delivery's
 * `x-berth-signature` header carries. The timestamp is in the signed text so a
 * receiver can refuse old deliveries replayed at it.
 */
export function signDelivery(options: { secret: string; timestamp: number; body: string }): string {
  return `sha256=${createHmac("sha256", options.secret).update(`${options.timestamp}.${options.body}`).digest("hex")}`;
}

/** The receiver's check, as docs/webhooks.md describes it (used by the tests). */
export function verifyDeliverySignature(options: { secret: string; timestamp: string | number; body: string; signature: string; toleranceSeconds?: number; now?: number }): boolean {
  const timestamp = Number(options.timestamp);
  if (!Number.isInteger(timestamp)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signDelivery({ secret: options.secret, timestamp, body: options.body }));
  const given = Buffer.from(options.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
