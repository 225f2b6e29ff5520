import { getPool } from "@/lib/db/client";
import { NotificationListener } from "@/lib/db/listen";
import { unseal } from "@/lib/auth/sealing";
import { readSettings } from "@/lib/config/settings";
import { logger } from "@/lib/observability/logger";
import { WEBHOOK_CHANNEL } from "./emit";
import { signDelivery } from "./sign";

/** Attempts before a delivery is given up as failed. */
export const MAX_ATTEMPTS = 8;
/** Back-off ceiling between attempts. */
export const MAX_BACKOFF_SECONDS = 3600;
/** How long a receiver has to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/**
 * A claimed delivery is leased this long: no other worker (in this or another
 * control-plane process) takes it meanwhile. A worker that dies mid-send lets
 * the lease run out and the delivery is tried again (at least once, not exactly once).
 */
const LEASE_SECONDS = 60;
const BATCH = 20;

/** Seconds to wait after failed attempt number `attempts` (1-based): base·2^(n-1), capped, with ±20 % jitter. */
export function backoffSeconds(attempts: number, baseSeconds: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.min(attempts - 1, 30));
  return Math.max(0.1, ceiling * (0.8 + 0.4 * random()));
}

type Claimed = { id: string; event: string; payload: unknown; attempts: number; created_at: Date; url: string; secret_sealed: string };

/**
 * Takes up to `limit` due deliveries. `FOR UPDATE SKIP LOCKED` lets workers
 * race without waiting on or taking each other's rows, and the lease (moving
 * next_attempt_at forward) keeps a claimed row away from them while it is sent.
 */
async function claimDue(limit: number): Promise<Claimed[]> {
  const { rows } = await getPool().query<Claimed>(
    `WITH due AS (
       SELECT id FROM webhook_deliveries
       WHERE state = 'PENDING' AND next_attempt_at <= now()
       ORDER BY next_attempt_at
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
     FROM due, webhooks w
     WHERE d.id = due.id AND w.id = d.webhook_id
     RETURNING d.id, d.event, d.payload, d.attempts, d.created_at, w.url, w.secret_sealed`,
    [limit, LEASE_SECONDS],
  );
  return rows;
}

type Outcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

async function send(delivery: Claimed): Promise<Outcome> {
  const body = JSON.stringify({ id: delivery.id, event: delivery.event, createdAt: delivery.created_at.toISOString(), data: delivery.payload });
  const timestamp = Math.floor(Date.now() / 1000);
  let signature: string;
  try {
    signature = signDelivery({ secret: unseal(delivery.secret_sealed), timestamp, body });
  } catch {
    return { ok: false, status: null, error: "could not unseal the signing secret (was BERTH_SEALING_KEY changed?)" };
  }
  try {
    const response = await fetch(delivery.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Berth-Webhooks/1",
        "x-berth-event": delivery.event,
        "x-berth-delivery": delivery.id,
        "x-berth-timestamp": String(timestamp),
        "x-berth-signature": signature,
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    // The body is not needed; reading a little lets the connection be reused.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status, error: `receiver answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError") return { ok: false, status: null, error: `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` };
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    // Never the URL's query string or anything the receiver echoed: only what went wrong.
    return { ok: false, status: null, error: `could not reach the receiver${code ? ` (${code})` : ""}` };
  }
}

async function record(delivery: Claimed, outcome: Outcome, baseSeconds: number): Promise<void> {
  const attempts = delivery.attempts + 1;
  if (outcome.ok) {
    await getPool().query(
      `UPDATE webhook_deliveries SET state = 'SUCCEEDED', attempts = $2, last_status = $3, last_error = NULL, delivered_at = now() WHERE id = $1`,
      [delivery.id, attempts, outcome.status],
    );
    return;
  }
  const failed = attempts >= MAX_ATTEMPTS;
  await getPool().query(
    `UPDATE webhook_deliveries SET state = $2::"WebhookDeliveryState", attempts = $3, last_status = $4, last_error = $5,
       next_attempt_at = now() + make_interval(secs => $6) WHERE id = $1`,
    [delivery.id, failed ? "FAILED" : "PENDING", attempts, outcome.status, outcome.error.slice(0, 500), failed ? 0 : backoffSeconds(attempts, baseSeconds)],
  );
}

/**
 * One pass: claims due deliveries and sends them (concurrently within a
 * batch), until none are due. Returns how many were attempted.
 */
export async function deliverDue(options: { baseSeconds?: number } = {}): Promise<number> {
  const baseSeconds = options.baseSeconds ?? readSettings().webhookRetryBaseSeconds;
  let total = 0;
  for (;;) {
    const claimed = await claimDue(BATCH);
    if (claimed.length === 0) return total;
    total += claimed.length;
    await Promise.all(
      claimed.map(async (delivery) => {
        const outcome = await send(delivery);
        await record(delivery, outcome, baseSeconds);
        if (!outcome.ok) logger.info({ delivery: delivery.id, event: delivery.event, attempt: delivery.attempts + 1, status: outcome.status, error: outcome.error }, "webhook delivery failed");
      }),
    );
  }
}

export type WebhookWorker = { stop: () => Promise<void>; kick: () => void };

/**
 * The delivery loop of one control-plane process: woken at once by the NOTIFY
 * an event's transaction sends, and by a poll every `pollMs` for retries that
 * fall due and as a fallback while the LISTEN connection is down.
 */
export async function startWebhookWorker(options: { connectionString?: string; pollMs?: number; baseSeconds?: number } = {}): Promise<WebhookWorker> {
  let running = false;
  let again = false;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    current = (async () => {
      do {
        again = false;
        await deliverDue({ baseSeconds: options.baseSeconds }).catch((error: unknown) => logger.warn({ err: error }, "webhook delivery pass failed"));
      } while (again && !stopped);
      running = false;
    })();
  };
  const listener = new NotificationListener({
    connectionString: options.connectionString,
    channels: [WEBHOOK_CHANNEL],
    applicationName: "berth-webhooks",
    onNotification: () => kick(),
    onConnectionChange: (connected) => {
      if (connected) kick();
    },
    onError: (error, attempt) => logger.warn({ err: error, attempt }, "webhook LISTEN connection failed; polling until it is back"),
  });
  await listener.start();
  const poll = setInterval(kick, options.pollMs ?? 2_000);
  poll.unref();
  kick();
  return {
    kick,
    stop: async () => {
      stopped = true;
      clearInterval(poll);
      await listener.stop();
      await current;
    },
  };
}
