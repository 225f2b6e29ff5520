import { handle } from "@/lib/http/api";
import { testWebhook } from "@/lib/webhooks/webhooks";
import { testWebhookApi } from "../../schemas";

export const POST = handle(testWebhookApi, async ({ actor, request, params }) => ({ delivery: await testWebhook({ actor, request, name: params.name }) }));
