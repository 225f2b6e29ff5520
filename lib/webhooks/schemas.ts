import { z } from "zod";
import { ZModelName } from "@/lib/registry/schemas";

/** What a webhook can subscribe to (docs/webhooks.md). `ping` is sent only by "send test". */
export const WEBHOOK_EVENTS = ["replica.failed", "server.offline", "deployment.finished", "audit.verification_failed"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type DeliveryEvent = WebhookEvent | "ping";

export const ZWebhookName = ZModelName;

export const ZWebhookEvent = z.enum(WEBHOOK_EVENTS, {
  error: (issue) => `Unknown event ${JSON.stringify(issue.input)}; choose from ${WEBHOOK_EVENTS.join(", ")}`,
});

const ZEvents = z
  .array(ZWebhookEvent)
  .min(1, { message: `Subscribe to at least one event (${WEBHOOK_EVENTS.join(", ")})` })
  .max(WEBHOOK_EVENTS.length)
  .transform((events) => [...new Set(events)]);

export const ZWebhookUrl = z
  .string()
  .max(2000, { message: "Use a URL of at most 2000 characters" })
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
      } catch {
        return false;
      }
    },
    { message: "Enter an http:// or https:// URL" },
  )
  .refine((value) => !/^https?:\/\/[^/]*@/i.test(value), { message: "Put no user name or password in the URL; verify deliveries by their signature instead" });

export const ZCreateWebhook = z
  .object({
    name: ZWebhookName,
    url: ZWebhookUrl,
    events: ZEvents,
    enabled: z.boolean().default(true),
  })
  .strict();
export type TCreateWebhook = z.infer<typeof ZCreateWebhook>;

export const ZUpdateWebhook = z
  .object({
    url: ZWebhookUrl.optional(),
    events: ZEvents.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((input) => Object.keys(input).length > 0, { message: "Change at least one of url, events, enabled" });
export type TUpdateWebhook = z.infer<typeof ZUpdateWebhook>;
