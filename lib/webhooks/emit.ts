import type { Prisma } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import type { DeliveryEvent, WebhookEvent } from "./schemas";

/** `pg_notify(WEBHOOK_CHANNEL, '')` wakes every control plane's delivery worker (lib/webhooks/worker.ts) once the event commits. */
export const WEBHOOK_CHANNEL = "berth_webhooks";

/**
 * The outbox: inside the caller's transaction, one pending delivery per
 * enabled webhook subscribed to `event`, and a NOTIFY that goes out with the
 * commit. A rollback takes both back, so nothing is ever sent for a change
 * that did not happen. Returns how many deliveries were queued.
 */
export async function emitWebhookEvent(tx: Tx, event: WebhookEvent, data: Record<string, unknown>): Promise<number> {
  const payload = JSON.stringify(data);
  const queued = await tx.$executeRaw`
    INSERT INTO webhook_deliveries (id, webhook_id, event, payload)
    SELECT gen_random_uuid(), id, ${event}, ${payload}::jsonb FROM webhooks
    WHERE enabled AND ${event} = ANY(events)`;
  if (queued > 0) await tx.$executeRaw`SELECT pg_notify(${WEBHOOK_CHANNEL}, ${event})`;
  return queued;
}

/** One delivery for one webhook, whatever it subscribes to: "send test" (`ping`). */
export async function queueDelivery(tx: Tx, options: { webhookId: string; event: DeliveryEvent; data: Prisma.InputJsonObject }): Promise<string> {
  const created = await tx.webhookDelivery.create({ data: { webhookId: options.webhookId, event: options.event, payload: options.data }, select: { id: true } });
  await tx.$executeRaw`SELECT pg_notify(${WEBHOOK_CHANNEL}, ${options.event})`;
  return created.id;
}
