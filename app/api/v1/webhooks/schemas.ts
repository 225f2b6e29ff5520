import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { WEBHOOK_EVENTS, ZCreateWebhook, ZUpdateWebhook } from "@/lib/webhooks/schemas";

const ZState = z.enum(["pending", "succeeded", "failed"]);

export const ZWebhook = z.object({
  id: z.uuid(),
  name: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  enabled: z.boolean(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  lastDelivery: z.object({ id: z.uuid(), event: z.string(), state: ZState, lastStatus: z.number().int().nullable(), createdAt: z.iso.datetime() }).nullable(),
});

export const ZDelivery = z.object({
  id: z.uuid(),
  event: z.string(),
  state: ZState,
  attempts: z.number().int(),
  nextAttemptAt: z.iso.datetime().nullable().describe("When the next attempt is due; null once succeeded or failed"),
  lastStatus: z.number().int().nullable().describe("The receiver's last HTTP status; null if it could not be reached"),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  deliveredAt: z.iso.datetime().nullable(),
  data: z.unknown().describe("The event's data: the `data` of the delivered body"),
});

export const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const listWebhooksApi = defineApi({
  method: "get",
  path: "/api/v1/webhooks",
  tag: "Webhooks",
  summary: "Webhooks: where Berth sends signed notifications of failures and finished rollouts",
  permission: "webhooks.manage",
  response: z.object({ webhooks: z.array(ZWebhook) }),
});

export const createWebhookApi = defineApi({
  method: "post",
  path: "/api/v1/webhooks",
  tag: "Webhooks",
  summary: "Add a webhook; the response carries its signing secret, shown this once",
  permission: "webhooks.manage",
  action: "webhook.create",
  body: ZCreateWebhook,
  status: 201,
  response: z.object({ webhook: ZWebhook, secret: z.string().describe("HMAC-SHA256 key for x-berth-signature (docs/webhooks.md); never shown again") }),
});

export const updateWebhookApi = defineApi({
  method: "patch",
  path: "/api/v1/webhooks/{name}",
  tag: "Webhooks",
  summary: "Change a webhook's URL, events or whether it is enabled",
  permission: "webhooks.manage",
  action: "webhook.update",
  params: ZNameParams,
  body: ZUpdateWebhook,
  response: z.object({ webhook: ZWebhook }),
});

export const deleteWebhookApi = defineApi({
  method: "delete",
  path: "/api/v1/webhooks/{name}",
  tag: "Webhooks",
  summary: "Delete a webhook and its delivery log",
  permission: "webhooks.manage",
  action: "webhook.delete",
  params: ZNameParams,
  response: z.object({ deleted: z.literal(true) }),
});

export const testWebhookApi = defineApi({
  method: "post",
  path: "/api/v1/webhooks/{name}/test",
  tag: "Webhooks",
  summary: "Queue a `ping` delivery to check the receiver",
  permission: "webhooks.manage",
  action: "webhook.test",
  params: ZNameParams,
  status: 202,
  response: z.object({ delivery: ZDelivery }),
});

export const listDeliveriesApi = defineApi({
  method: "get",
  path: "/api/v1/webhooks/{name}/deliveries",
  tag: "Webhooks",
  summary: "A webhook's delivery log, newest first",
  permission: "webhooks.manage",
  params: ZNameParams,
  query: z
    .object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      before: z.uuid().optional().describe("Return deliveries older than this one: the `nextBefore` of the previous page"),
    })
    .strict(),
  response: z.object({ deliveries: z.array(ZDelivery), nextBefore: z.uuid().nullable() }),
});
