import Link from "next/link";
import { BellRing, ShieldAlert } from "lucide-react";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatTime } from "@/components/format";
import { AddWebhook } from "@/components/webhooks/add-webhook";
import { DeliveryState } from "@/components/webhooks/delivery-state";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listWebhooks } from "@/lib/webhooks/webhooks";

export const metadata = { title: "Webhooks" };

/** Where Berth sends word of failures and finished rollouts. */
export default async function WebhooksPage() {
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
  const webhooks = await listWebhooks();
  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Signed HTTP notifications when a replica fails, a server goes offline, a deployment finishes rolling out, or the audit log fails verification. Retried with back-off; every attempt is in the delivery log."
        actions={<AddWebhook />}
      />
      {webhooks.length === 0 ? (
        <EmptyState icon={BellRing} title="No webhooks yet">
          <p>Add one to have Berth tell your alerting or chat system when something needs attention.</p>
          <p>
            How to check a delivery&apos;s signature: <code className="font-mono">docs/webhooks.md</code>.
          </p>
        </EmptyState>
      ) : (
        <DataTable
          testId="webhooks-table"
          rows={webhooks}
          rowKey={(w) => w.id}
          rowTestId={(w) => `webhook-${w.name}`}
          columns={[
            { header: "Name", cell: (w) => <Link href={`/webhooks/${w.name}`} className="font-medium text-sky-700 hover:underline">{w.name}</Link> },
            { header: "URL", cell: (w) => <span className="break-all font-mono text-xs">{w.url}</span> },
            { header: "Events", cell: (w) => <span className="font-mono text-xs">{w.events.join(", ")}</span> },
            { header: "Enabled", cell: (w) => (w.enabled ? "yes" : "no") },
            {
              header: "Last delivery",
              cell: (w) =>
                w.lastDelivery ? (
                  <span className="flex items-center gap-2">
                    <DeliveryState state={w.lastDelivery.state} />
                    <span className="text-xs text-slate-500">{w.lastDelivery.event}, {formatTime(w.lastDelivery.createdAt)}</span>
                  </span>
                ) : (
                  "—"
                ),
            },
          ]}
        />
      )}
    </>
  );
}
