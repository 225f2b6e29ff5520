import Link from "next/link";
import { notFound } from "next/navigation";
import { Inbox, ShieldAlert } from "lucide-react";
import { AutoRefresh } from "@/components/auto-refresh";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatTime } from "@/components/format";
import { DeliveryState } from "@/components/webhooks/delivery-state";
import { WebhookActions } from "@/components/webhooks/webhook-actions";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { BerthError } from "@/lib/http/errors";
import { getWebhook, listDeliveries } from "@/lib/webhooks/webhooks";

export const metadata = { title: "Webhook" };

const PAGE_SIZE = 50;

/** One webhook and its delivery log, newest first. */
export default async function WebhookPage({ params, searchParams }: { params: Promise<{ name: string }>; searchParams: Promise<{ before?: string }> }) {
  const { actor } = await requirePageActor();
  if (!actorCan(actor, "webhooks.manage")) {
    return (
      <>
        <PageHeader title="Webhooks" />
        <EmptyState icon={ShieldAlert} title="Webhooks are managed by administrators">
          <p>Ask an administrator if your team needs notifications.</p>
        </EmptyState>
      </>
    );
  }
  const { name } = await params;
  const { before } = await searchParams;
  const loaded = await Promise.all([getWebhook(name), listDeliveries({ name, limit: PAGE_SIZE, before: before && /^[0-9a-f-]{36}$/.test(before) ? before : undefined })]).catch((error: unknown) => {
    if (error instanceof BerthError && error.code === "not_found") notFound();
    throw error;
  });
  const [webhook, page] = loaded;
  return (
    <>
      <AutoRefresh seconds={5} />
      <PageHeader title={`Webhook ${webhook.name}`} description={webhook.url} actions={<WebhookActions name={webhook.name} enabled={webhook.enabled} />} />
      <p className="mb-4 text-sm text-slate-600">
        Events: <span className="font-mono">{webhook.events.join(", ")}</span> · {webhook.enabled ? "enabled" : "disabled"} · added by {webhook.createdBy} on {formatTime(webhook.createdAt)}
      </p>
      <h2 className="mb-2 text-lg font-semibold">Delivery log</h2>
      {page.deliveries.length === 0 ? (
        <EmptyState icon={Inbox} title="Nothing sent yet">
          <p>Deliveries appear here when a subscribed event happens. &ldquo;Send test&rdquo; queues a <code className="font-mono">ping</code>.</p>
        </EmptyState>
      ) : (
        <DataTable
          testId="deliveries-table"
          rows={page.deliveries}
          rowKey={(d) => d.id}
          rowTestId={(d) => `delivery-${d.event}`}
          columns={[
            { header: "Event", cell: (d) => <span className="font-mono text-xs">{d.event}</span> },
            { header: "State", cell: (d) => <DeliveryState state={d.state} /> },
            { header: "Attempts", cell: (d) => d.attempts },
            { header: "Last status", cell: (d) => d.lastStatus ?? "—" },
            { header: "Last error", cell: (d) => <span className="text-xs">{d.lastError ?? "—"}</span> },
            { header: "Queued", cell: (d) => formatTime(d.createdAt) },
            { header: "Delivered / next try", cell: (d) => (d.deliveredAt ? formatTime(d.deliveredAt) : d.nextAttemptAt ? `next ${formatTime(d.nextAttemptAt)}` : "—") },
            { header: "Id", cell: (d) => <span className="font-mono text-xs text-slate-500">{d.id.slice(0, 8)}</span> },
          ]}
        />
      )}
      {page.nextBefore ? (
        <p className="mt-3 text-sm">
          <Link className="text-sky-700 hover:underline" href={`/webhooks/${webhook.name}?before=${page.nextBefore}`}>Older deliveries →</Link>
        </p>
      ) : null}
    </>
  );
}
