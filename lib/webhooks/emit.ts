import type { Prisma } from "@prisma/client";
import type { Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import type { DeliveryEvent, WebhookEvent } from "./schemas";

/** `pg_notify(WEBHOOK_CHANNEL, '')` wakes every control plane's delivery worker (lib/webhooks/worker.ts) once the event commits. */
export const WEBHOOK_CHANNEL = "berth_webhooks";

/**
 * The outbox: inside the caller's transaction, one pending delivery per
 * enabled webhook subscribed to `event`, and a NOTIFY that goes out with the
 * commit. A rollback takes both back, so nothing is ever sent for a change
 * that did not happen. Returns how many deliveries were queued.
 */
export async function emitWebhookEvent(tx: Tx | Sql, event: WebhookEvent, data: Record<string, unknown>): Promise<number> {
  const sql = asSql(tx);
  const [row] = await sql.query<{ queued: number }>(
    `WITH queued AS (
       INSERT INTO webhook_deliveries (id, webhook_id, event, payload)
       SELECT gen_random_uuid(), id, $1::text, $2::jsonb FROM webhooks WHERE enabled AND $1::text = ANY(events)
       RETURNING 1)
     SELECT count(*)::int AS queued FROM queued`,
    [event, JSON.stringify(data)],
  );
  const queued = row?.queued ?? 0;
  if (queued > 0) await sql.query("SELECT pg_notify($1, $2)::text", [WEBHOOK_CHANNEL, event]);
  return queued;
}

/** One delivery for one webhook, whatever it subscribes to: "send test" (`ping`). */
export async function queueDelivery(tx: Tx, options: { webhookId: string; event: DeliveryEvent; data: Prisma.InputJsonObject }): Promise<string> {
  const created = await tx.webhookDelivery.create({ data: { webhookId: options.webhookId, event: options.event, payload: options.data }, select: { id: true } });
  await tx.$executeRaw`SELECT pg_notify(${WEBHOOK_CHANNEL}, ${options.event})`;
  return created.id;
}
