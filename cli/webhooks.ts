import { type Command } from "commander";
import type { DeliveryView, WebhookView } from "@/lib/webhooks/webhooks";
import { callApi, CliError, connectionFrom } from "./http";
import { printJson, printTable } from "./output";

type Global = { url?: string; token?: string };
const connection = (command: Command) => connectionFrom(command.optsWithGlobals<Global>());
const path = (name: string, rest = "") => `/api/v1/webhooks/${encodeURIComponent(name)}${rest}`;
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerWebhookCommands(program: Command) {
  const webhooks = program.command("webhooks").description("Signed notifications of failures and finished rollouts (docs/webhooks.md); ADMIN only");

  webhooks
    .command("list")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { webhooks: list } = await callApi<{ webhooks: WebhookView[] }>(connection(command), "GET", "/api/v1/webhooks");
      if (options.json) return printJson(list);
      printTable(
        list.map((w) => ({ name: w.name, url: w.url, events: w.events.join(","), enabled: w.enabled ? "yes" : "no", last: w.lastDelivery ? `${w.lastDelivery.state} (${w.lastDelivery.event})` : "—" })),
        ["name", "url", "events", "enabled", "last"],
      );
    });

  webhooks
    .command("add")
    .description("Add a webhook; prints its signing secret once")
    .argument("<name>")
    .requiredOption("--endpoint <url>", "http:// or https:// URL that receives the POSTs (--url is Berth's own address)")
    .requiredOption("--event <event>", "replica.failed, server.offline, deployment.finished or audit.verification_failed (repeatable)", collect)
    .option("--disabled", "add it switched off")
    .option("--json", "print JSON (with the secret)")
    .action(async (name: string, options: { endpoint: string; event: string[]; disabled?: boolean; json?: boolean }, command: Command) => {
      const created = await callApi<{ webhook: WebhookView; secret: string }>(connection(command), "POST", "/api/v1/webhooks", {
        name,
        url: options.endpoint,
        events: options.event,
        enabled: !options.disabled,
      });
      if (options.json) return printJson(created);
      process.stderr.write(`webhook ${created.webhook.name} added (${created.webhook.events.join(", ")}). Its signing secret, shown this once:\n`);
      process.stdout.write(`${created.secret}\n`);
    });

  webhooks
    .command("remove")
    .argument("<name>")
    .action(async (name: string, _options: unknown, command: Command) => {
      await callApi(connection(command), "DELETE", path(name));
      process.stdout.write(`webhook ${name} removed\n`);
    });

  webhooks
    .command("test")
    .description("Queue a ping delivery to check the receiver")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { delivery } = await callApi<{ delivery: DeliveryView }>(connection(command), "POST", path(name, "/test"));
      if (options.json) return printJson(delivery);
      process.stdout.write(`ping ${delivery.id} queued; see berth webhooks deliveries ${name}\n`);
    });

  webhooks
    .command("deliveries")
    .description("A webhook's delivery log, newest first")
    .argument("<name>")
    .option("--limit <n>", "how many", "20")
    .option("--before <id>", "older than this delivery (the next page)")
    .option("--json", "print JSON")
    .action(async (name: string, options: { limit: string; before?: string; json?: boolean }, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit takes a positive whole number, got ${JSON.stringify(options.limit)}`, 2);
      const query = new URLSearchParams({ limit: String(limit), ...(options.before ? { before: options.before } : {}) });
      const page = await callApi<{ deliveries: DeliveryView[]; nextBefore: string | null }>(connection(command), "GET", path(name, `/deliveries?${query}`));
      if (options.json) return printJson(page);
      printTable(
        page.deliveries.map((d) => ({ id: d.id, event: d.event, state: d.state, attempts: d.attempts, status: d.lastStatus, error: d.lastError?.slice(0, 60), created: d.createdAt, delivered: d.deliveredAt ?? (d.nextAttemptAt ? `next ${d.nextAttemptAt}` : "—") })),
        ["id", "event", "state", "attempts", "status", "error", "created", "delivered"],
      );
      if (page.nextBefore) process.stderr.write(`more: --before ${page.nextBefore}\n`);
    });
}
