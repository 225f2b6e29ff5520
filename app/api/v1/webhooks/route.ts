import { handle } from "@/lib/http/api";
import { createWebhook, listWebhooks } from "@/lib/webhooks/webhooks";
import { createWebhookApi, listWebhooksApi } from "./schemas";

export const GET = handle(listWebhooksApi, async () => ({ webhooks: await listWebhooks() }));

export const POST = handle(createWebhookApi, async ({ actor, request, body }) => createWebhook({ actor, request, input: body }));
