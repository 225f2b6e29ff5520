import Link from "next/link";
import { notFound } from "next/navigation";
import { ShieldAlert } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { OutcomeBadge } from "@/components/audit/outcome-badge";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { getAuditEvent } from "@/lib/audit/list-events";

export const metadata = { title: "Audit event" };

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[12rem_1fr] gap-3 border-b border-slate-100 px-4 py-2 last:border-0">
      <dt className="text-slate-500">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

/** One event, whole: every field, its hash and the previous hash, and whether its content still matches. */
export default async function AuditEventPage({ params }: { params: Promise<{ seq: string }> }) {
  const { actor } = await requirePageActor();
  if (!actorCan(actor, "audit.read")) {
    return (
      <>
        <PageHeader title="Audit event" />
        <EmptyState icon={ShieldAlert} title="The audit log needs the AUDITOR or ADMIN role"><p>Ask an administrator for access if your work needs it.</p></EmptyState>
      </>
    );
  }
  const { seq } = await params;
  if (!/^\d{1,19}$/.test(seq)) notFound();
  const event = await getAuditEvent(BigInt(seq));
  if (!event) notFound();
  const mono = "font-mono text-xs";
  return (
    <>
      <PageHeader title={`Event ${event.seq}`} description={`${event.action} by ${event.actorLabel}`} />
      <p className="mb-4 text-sm"><Link className="text-sky-700 hover:underline" href="/audit">← All events</Link></p>
      {!event.contentMatchesHash ? (
        <p role="alert" className="mb-4 rounded-md bg-rose-50 px-3 py-2 text-sm font-medium text-rose-700">
          This event&apos;s content no longer matches its hash: it was altered after it was written.
        </p>
      ) : null}
      <dl className="rounded-lg border border-slate-200 bg-white text-sm" data-testid="audit-event">
        <Row label="Seq"><span className={mono}>{event.seq}</span></Row>
        <Row label="Time (UTC)"><span className={mono}>{event.at}</span></Row>
        <Row label="Actor">{event.actorLabel} <span className="text-slate-500">({event.actorKind.toLowerCase().replace("_", " ")}{event.actorId ? `, ${event.actorId}` : ""})</span></Row>
        <Row label="Action"><span className={mono}>{event.action}</span></Row>
        <Row label="Target">{event.targetKind ? `${event.targetKind}: ${event.targetLabel ?? ""}${event.targetId ? ` (${event.targetId})` : ""}` : "—"}</Row>
        <Row label="Outcome"><OutcomeBadge outcome={event.outcome} /></Row>
        <Row label="Source address"><span className={mono}>{event.sourceAddress ?? "—"}</span></Row>
        <Row label="Request id"><span className={mono}>{event.requestId ?? "—"}</span></Row>
        <Row label="Details"><pre className="overflow-x-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify(event.details, null, 2)}</pre></Row>
        <Row label="Previous hash">
          <span className={mono}>{event.prevHash}</span>
          {event.previousSeq ? <> · <Link className="text-sky-700 hover:underline" href={`/audit/${event.previousSeq}`}>event {event.previousSeq}</Link></> : null}
        </Row>
        <Row label="Hash">
          <span className={mono} data-testid="event-hash">{event.hash}</span>
          {event.contentMatchesHash ? <span className="ml-2 text-xs text-emerald-700">matches the content</span> : null}
        </Row>
        <Row label="Next event">{event.nextSeq ? <Link className="text-sky-700 hover:underline" href={`/audit/${event.nextSeq}`}>event {event.nextSeq}</Link> : "— (the newest)"}</Row>
      </dl>
    </>
  );
}
