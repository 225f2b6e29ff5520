import { handle } from "@/lib/http/api";
import { deleteWebhook, updateWebhook } from "@/lib/webhooks/webhooks";
import { deleteWebhookApi, updateWebhookApi } from "../schemas";

export const PATCH = handle(updateWebhookApi, async ({ actor, request, params, body }) => ({ webhook: await updateWebhook({ actor, request, name: params.name, input: body }) }));

export const DELETE = handle(deleteWebhookApi, async ({ actor, request, params }) => {
  await deleteWebhook({ actor, request, name: params.name });
  return { deleted: true };
});
