import { randomBytes } from "node:crypto";
import type { Webhook, WebhookDelivery } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { BerthError, fromPrismaError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { seal } from "@/lib/auth/sealing";
import { queueDelivery } from "./emit";
import { ZWebhookName, type TCreateWebhook, type TUpdateWebhook, type WebhookEvent } from "./schemas";

export type DeliveryState = "pending" | "succeeded" | "failed";

export type WebhookView = {
  id: string;
  name: string;
  url: string;
  events: WebhookEvent[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** The newest delivery, if any: how the receiver is doing at a glance. */
  lastDelivery: { id: string; event: string; state: DeliveryState; lastStatus: number | null; createdAt: string } | null;
};

export type DeliveryView = {
  id: string;
  event: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  data: unknown;
};

const stateOf = (state: WebhookDelivery["state"]) => state.toLowerCase() as DeliveryState;

export function deliveryView(delivery: WebhookDelivery): DeliveryView {
  return {
    id: delivery.id,
    event: delivery.event,
    state: stateOf(delivery.state),
    attempts: delivery.attempts,
    nextAttemptAt: delivery.state === "PENDING" ? delivery.nextAttemptAt.toISOString() : null,
    lastStatus: delivery.lastStatus,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt.toISOString(),
    deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    data: delivery.payload,
  };
}

function webhookView(webhook: Webhook & { deliveries?: WebhookDelivery[] }): WebhookView {
  const last = webhook.deliveries?.[0];
  return {
    id: webhook.id,
    name: webhook.name,
    url: webhook.url,
    events: webhook.events as WebhookEvent[],
    enabled: webhook.enabled,
    createdBy: webhook.createdBy,
    createdAt: webhook.createdAt.toISOString(),
    updatedAt: webhook.updatedAt.toISOString(),
    lastDelivery: last ? { id: last.id, event: last.event, state: stateOf(last.state), lastStatus: last.lastStatus, createdAt: last.createdAt.toISOString() } : null,
  };
}

/**
 * The URL as the audit log keeps it: scheme, host and path, no query string or
 * user info (chat-style incoming-webhook URLs carry tokens in their query).
 */
export function auditedUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? "?…" : ""}`;
}

// The secret never leaves the database unsealed except to sign (worker.ts).
const omitSecret = { secretSealed: true } as const;
const newest = { orderBy: [{ createdAt: "desc" as const }, { id: "desc" as const }], take: 1 };

function notFoundWebhook(name: string) {
  return new BerthError("not_found", `No webhook named "${name}". List them with \`berth webhooks list\`.`);
}

async function findWebhook(name: string): Promise<Webhook> {
  if (!ZWebhookName.safeParse(name).success) throw notFoundWebhook(name);
  const webhook = await getDb().webhook.findUnique({ where: { name } });
  if (!webhook) throw notFoundWebhook(name);
  return webhook;
}

/** A new signing secret: 32 random bytes, shown once. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

export async function listWebhooks(): Promise<WebhookView[]> {
  const webhooks = await getDb().webhook.findMany({ omit: omitSecret, orderBy: { name: "asc" }, include: { deliveries: newest } });
  return webhooks.map((w) => webhookView({ ...w, secretSealed: "" }));
}

export async function getWebhook(name: string): Promise<WebhookView> {
  const webhook = await findWebhook(name);
  const deliveries = await getDb().webhookDelivery.findMany({ where: { webhookId: webhook.id }, ...newest });
  return webhookView({ ...webhook, deliveries });
}

/** Creates a webhook; the signing secret comes back here and never again. */
export async function createWebhook(options: { actor: Actor; request: RequestContext; input: TCreateWebhook }): Promise<{ webhook: WebhookView; secret: string }> {
  const { input } = options;
  const secret = newSecret();
  try {
    return await getDb().$transaction(async (tx) => {
      const created = await tx.webhook.create({
        data: { name: input.name, url: input.url, events: input.events, enabled: input.enabled, secretSealed: seal(secret), createdBy: options.actor.label },
      });
      await recordAuditEvent(tx, {
        actor: auditActor(options.actor),
        request: options.request,
        action: "webhook.create",
        target: { kind: "webhook", id: created.id, label: created.name },
        details: { url: auditedUrl(created.url), events: created.events, enabled: created.enabled },
      });
      return { webhook: webhookView(created), secret };
    });
  } catch (error) {
    throw fromPrismaError(error, `webhook "${input.name}"`) ?? error;
  }
}

export async function updateWebhook(options: { actor: Actor; request: RequestContext; name: string; input: TUpdateWebhook }): Promise<WebhookView> {
  const webhook = await findWebhook(options.name);
  const { input } = options;
  return getDb().$transaction(async (tx) => {
    const updated = await tx.webhook.update({ where: { id: webhook.id }, data: { url: input.url, events: input.events, enabled: input.enabled } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "webhook.update",
      target: { kind: "webhook", id: webhook.id, label: webhook.name },
      details: { changed: { ...input, ...(input.url !== undefined ? { url: auditedUrl(input.url) } : {}) } },
    });
    const deliveries = await tx.webhookDelivery.findMany({ where: { webhookId: webhook.id }, ...newest });
    return webhookView({ ...updated, deliveries });
  });
}

/** Deletes a webhook and its delivery log; pending deliveries are not sent. */
export async function deleteWebhook(options: { actor: Actor; request: RequestContext; name: string }): Promise<void> {
  const webhook = await findWebhook(options.name);
  await getDb().$transaction(async (tx) => {
    await tx.webhook.delete({ where: { id: webhook.id } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "webhook.delete",
      target: { kind: "webhook", id: webhook.id, label: webhook.name },
      details: { url: auditedUrl(webhook.url) },
    });
  });
}

/** Queues a `ping` delivery, whatever the webhook subscribes to and also while it is disabled: a check of the receiver. */
export async function testWebhook(options: { actor: Actor; request: RequestContext; name: string }): Promise<DeliveryView> {
  const webhook = await findWebhook(options.name);
  return getDb().$transaction(async (tx) => {
    const id = await queueDelivery(tx, {
      webhookId: webhook.id,
      event: "ping",
      data: { webhook: webhook.name, message: `Test delivery sent by ${options.actor.label}` },
    });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "webhook.test",
      target: { kind: "webhook", id: webhook.id, label: webhook.name },
      details: { delivery: id },
    });
    return deliveryView(await tx.webhookDelivery.findUniqueOrThrow({ where: { id } }));
  });
}

/** The delivery log, newest first, keyset paged: `before` is the last id of the previous page. */
export async function listDeliveries(options: { name: string; limit: number; before?: string }): Promise<{ deliveries: DeliveryView[]; nextBefore: string | null }> {
  const webhook = await findWebhook(options.name);
  let cursor: { createdAt: Date; id: string } | null = null;
  if (options.before) {
    cursor = await getDb().webhookDelivery.findFirst({ where: { id: options.before, webhookId: webhook.id }, select: { createdAt: true, id: true } });
    if (!cursor) throw new BerthError("bad_request", `"before" names no delivery of webhook "${webhook.name}"`);
  }
  const rows = await getDb().webhookDelivery.findMany({
    where: {
      webhookId: webhook.id,
      ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: options.limit + 1,
  });
  const page = rows.slice(0, options.limit);
  return { deliveries: page.map(deliveryView), nextBefore: rows.length > options.limit ? page[page.length - 1]!.id : null };
}
