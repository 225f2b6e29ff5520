import Link from "next/link";
import { FileClock, ShieldAlert } from "lucide-react";
import clsx from "clsx";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listAuditEvents } from "@/lib/audit/list-events";

export const metadata = { title: "Audit" };

const PAGE_SIZE = 50;

const OUTCOME_STYLE: Record<string, string> = {
  SUCCESS: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  FAILURE: "bg-amber-50 text-amber-800 ring-amber-600/20",
  DENIED: "bg-rose-50 text-rose-700 ring-rose-600/20",
};

function targetText(event: { targetKind: string | null; targetLabel: string | null; targetId: string | null }) {
  if (!event.targetKind) return "—";
  return `${event.targetKind}: ${event.targetLabel ?? event.targetId ?? ""}`;
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<{ before?: string }> }) {
  const { actor } = await requirePageActor();
  if (!actorCan(actor, "audit.read")) {
    return (
      <>
        <PageHeader title="Audit" />
        <EmptyState icon={ShieldAlert} title="The audit log needs the AUDITOR or ADMIN role">
          <p>Ask an administrator for access if your work needs it.</p>
        </EmptyState>
      </>
    );
  }
  const { before } = await searchParams;
  const cursor = before && /^\d{1,19}$/.test(before) ? BigInt(before) : undefined;
  const { events, nextBefore } = await listAuditEvents({ limit: PAGE_SIZE, before: cursor });
  return (
    <>
      <PageHeader
        title="Audit"
        description="Every action, newest first. Each event carries the hash of the one before it, so an edited or deleted event breaks the chain."
      />
      {events.length === 0 ? (
        <EmptyState icon={FileClock} title="No events on this page">
          <p>
            <Link className="text-sky-700 hover:underline" href="/audit">
              Back to the newest events
            </Link>
          </p>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="min-w-full text-left text-sm" data-testid="audit-table">
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="px-3 py-2">#</th>
                <th scope="col" className="px-3 py-2">Time (UTC)</th>
                <th scope="col" className="px-3 py-2">Actor</th>
                <th scope="col" className="px-3 py-2">Action</th>
                <th scope="col" className="px-3 py-2">Target</th>
                <th scope="col" className="px-3 py-2">Outcome</th>
                <th scope="col" className="px-3 py-2">Source</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {events.map((event) => (
                <tr key={event.seq} className="align-top">
                  <td className="px-3 py-2 font-mono text-xs text-slate-500">{event.seq}</td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{event.at.replace("T", " ").replace("Z", "")}</td>
                  <td className="px-3 py-2">
                    <span className="block max-w-56 truncate" title={event.actorLabel}>{event.actorLabel}</span>
                    <span className="text-xs text-slate-500">{event.actorKind.toLowerCase().replace("_", " ")}</span>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs">{event.action}</td>
                  <td className="max-w-64 truncate px-3 py-2" title={targetText(event)}>{targetText(event)}</td>
                  <td className="px-3 py-2">
                    <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", OUTCOME_STYLE[event.outcome])}>
                      {event.outcome.toLowerCase()}
                    </span>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs text-slate-500">{event.sourceAddress ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Pages" className="mt-4 flex gap-3 text-sm">
        {cursor !== undefined ? (
          <Link href="/audit" className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50">
            Newest
          </Link>
        ) : null}
        {nextBefore ? (
          <Link href={`/audit?before=${nextBefore}`} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50">
            Older events →
          </Link>
        ) : null}
      </nav>
    </>
  );
}
