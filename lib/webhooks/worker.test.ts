import { describe, expect, it } from "vitest";
import { signDelivery, verifyDeliverySignature } from "./sign";
import { backoffSeconds, MAX_BACKOFF_SECONDS } from "./worker";
import { ZCreateWebhook } from "./schemas";

describe("back-off", () => {
  it("doubles from the base, jittered ±20 %, and stops growing at an hour", () => {
    expect(backoffSeconds(1, 10, () => 0.5)).toBe(10);
    expect(backoffSeconds(2, 10, () => 0.5)).toBe(20);
    expect(backoffSeconds(3, 10, () => 0.5)).toBe(40);
    expect(backoffSeconds(3, 10, () => 0)).toBeCloseTo(32);
    expect(backoffSeconds(3, 10, () => 1)).toBeCloseTo(48);
    expect(backoffSeconds(20, 10, () => 0.5)).toBe(MAX_BACKOFF_SECONDS);
    expect(backoffSeconds(1000, 10, () => 1)).toBeCloseTo(MAX_BACKOFF_SECONDS * 1.2);
  });
});

describe("signature", () => {
  it("is HMAC-SHA256 over timestamp.body, and old timestamps are refused", () => {
    // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
    expect(signDelivery({ secret: "s3cret", timestamp: 1700000000, body: '{"a":1}' })).toBe("sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
    const signature = signDelivery({ secret: "s3cret", timestamp: 1700000000, body: '{"a":1}' });
    expect(verifyDeliverySignature({ secret: "s3cret", timestamp: "1700000000", body: '{"a":1}', signature, now: 1700000100 })).toBe(true);
    expect(verifyDeliverySignature({ secret: "s3cret", timestamp: "1700000000", body: '{"a":1}', signature, now: 1700001000 })).toBe(false);
    expect(verifyDeliverySignature({ secret: "s3cret", timestamp: "1700000001", body: '{"a":1}', signature, now: 1700000100 })).toBe(false);
  });
});

describe("webhook input", () => {
  const valid = { name: "on-call", url: "https://alerts.internal/berth", events: ["server.offline"] };
  it("takes http(s) URLs and known events", () => {
    expect(ZCreateWebhook.parse(valid)).toMatchObject({ ...valid, enabled: true });
    expect(ZCreateWebhook.parse({ ...valid, url: "http://10.0.0.5:8080/hook", events: ["server.offline", "server.offline"] }).events).toEqual(["server.offline"]);
  });
  it("refuses other schemes, credentials in the URL, no events, and unknown events by name", () => {
    for (const url of ["ftp://x/y", "file:///etc/passwd", "javascript:alert(1)", "not a url", "https://user:pw@host/x"]) expect(ZCreateWebhook.safeParse({ ...valid, url }).success, url).toBe(false);
    expect(ZCreateWebhook.safeParse({ ...valid, events: [] }).error?.issues[0]?.message).toMatch(/at least one event/);
    expect(ZCreateWebhook.safeParse({ ...valid, events: ["server.exploded"] }).error?.issues[0]?.message).toMatch(/Unknown event "server.exploded"; choose from replica.failed/);
    expect(ZCreateWebhook.safeParse({ ...valid, name: "On Call" }).success).toBe(false);
  });
});
