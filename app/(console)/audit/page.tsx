import Link from "next/link";
import { FileClock, ShieldAlert } from "lucide-react";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { OutcomeBadge } from "@/components/audit/outcome-badge";
import { VerifyChainPanel, type LastVerification } from "@/components/audit/verify-chain-panel";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listAuditEvents, type AuditEventView } from "@/lib/audit/list-events";
import { filterSearchParams, ZAuditFilter } from "@/lib/audit/filters";
import { readSettings } from "@/lib/config/settings";

export const metadata = { title: "Audit" };

const PAGE_SIZE = 50;
const FILTER_KEYS = ["from", "to", "actor", "action", "target", "outcome", "q"] as const;
const field = "rounded-md border border-slate-300 px-2 py-1.5 text-sm";

function targetText(event: { targetKind: string | null; targetLabel: string | null; targetId: string | null }) {
  if (!event.targetKind) return "—";
  return `${event.targetKind}: ${event.targetLabel ?? event.targetId ?? ""}`;
}

async function lastVerification(): Promise<LastVerification> {
  const [event] = (await listAuditEvents({ filter: { action: "audit.verify" }, limit: 1 })).events;
  if (!event) return null;
  const details = event.details as { checked?: number; failedAt?: string; message?: string };
  return {
    at: event.at,
    by: event.actorLabel,
    ok: event.outcome === "SUCCESS",
    summary: event.outcome === "SUCCESS" ? `${(details.checked ?? 0).toLocaleString("en")} events` : (details.message ?? `fails at event ${details.failedAt}`),
  };
}

export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
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
  const raw = await searchParams;
  const given = Object.fromEntries(FILTER_KEYS.filter((k) => raw[k]).map((k) => [k, raw[k]!]));
  const parsed = ZAuditFilter.safeParse(given);
  const cursor = raw.before && /^\d{1,19}$/.test(raw.before) ? BigInt(raw.before) : undefined;
  const [page, last] = await Promise.all([
    parsed.success ? listAuditEvents({ filter: parsed.data, limit: PAGE_SIZE, before: cursor }) : null,
    lastVerification(),
  ]);
  const query = parsed.success ? filterSearchParams(parsed.data) : new URLSearchParams();
  const exportHref = (format: string) => `/api/v1/audit/export?${new URLSearchParams([...query, ["format", format]])}`;
  const retention = readSettings().auditRetentionDays;
  const filtered = Object.keys(given).length > 0;

  return (
    <>
      <PageHeader
        title="Audit"
        description={`Every action, newest first. Each event carries the hash of the one before it, so an edited, deleted, inserted or reordered event breaks the chain. Retention: ${retention ? `${retention} days (BERTH_AUDIT_RETENTION_DAYS)` : "kept forever"}.`}
        actions={
          <div className="flex gap-2">
            <a href={exportHref("jsonl")} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50" title="With the hash chain and anchors: berth audit verify FILE checks it offline">
              Export JSON Lines
            </a>
            <a href={exportHref("csv")} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
              Export CSV
            </a>
          </div>
        }
      />
      <VerifyChainPanel last={last} />
      <form className="mb-4 flex flex-wrap items-end gap-3 text-sm" method="get" aria-label="Filter events">
        <label className="grid gap-1"><span className="text-slate-600">From (UTC, ISO 8601)</span><input name="from" defaultValue={raw.from ?? ""} className={`${field} w-52`} placeholder="2026-11-01T00:00:00Z" /></label>
        <label className="grid gap-1"><span className="text-slate-600">To</span><input name="to" defaultValue={raw.to ?? ""} className={`${field} w-52`} placeholder="now" /></label>
        <label className="grid gap-1"><span className="text-slate-600">Actor</span><input name="actor" defaultValue={raw.actor ?? ""} className={field} placeholder="email, token or server" /></label>
        <label className="grid gap-1"><span className="text-slate-600">Action</span><input name="action" defaultValue={raw.action ?? ""} className={`${field} w-44`} placeholder="deployment." /></label>
        <label className="grid gap-1"><span className="text-slate-600">Target</span><input name="target" defaultValue={raw.target ?? ""} className={field} placeholder="name or id" /></label>
        <label className="grid gap-1">
          <span className="text-slate-600">Outcome</span>
          <select name="outcome" defaultValue={raw.outcome ?? ""} className={field}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label className="grid gap-1"><span className="text-slate-600">Details contain</span><input name="q" defaultValue={raw.q ?? ""} className={field} placeholder="free text" /></label>
        <button type="submit" className="rounded-md bg-sky-700 px-3 py-1.5 font-medium text-white hover:bg-sky-800">Filter</button>
        {filtered ? <Link href="/audit" className="text-sky-700 hover:underline">Clear</Link> : null}
      </form>
      {!parsed.success ? (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">
          {parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}
        </p>
      ) : page!.events.length === 0 ? (
        <EmptyState icon={FileClock} title={filtered || cursor ? "No events match" : "No events yet"}>
          <p>
            {filtered || cursor ? (
              <Link className="text-sky-700 hover:underline" href="/audit">Back to the newest events</Link>
            ) : (
              "Every action taken in Berth will appear here."
            )}
          </p>
        </EmptyState>
      ) : (
        <DataTable<AuditEventView>
          testId="audit-table"
          rows={page!.events}
          rowKey={(e) => e.seq}
          rowClassName={() => "align-top"}
          columns={[
            { header: "#", cell: (e) => <Link className="font-mono text-xs text-sky-700 hover:underline" href={`/audit/${e.seq}`}>{e.seq}</Link> },
            { header: "Time (UTC)", cell: (e) => <span className="whitespace-nowrap font-mono text-xs">{e.at.replace("T", " ").replace("Z", "")}</span> },
            {
              header: "Actor",
              cell: (e) => (
                <>
                  <span className="block max-w-56 truncate" title={e.actorLabel}>{e.actorLabel}</span>
                  <span className="text-xs text-slate-500">{e.actorKind.toLowerCase().replace("_", " ")}</span>
                </>
              ),
            },
            { header: "Action", cell: (e) => <span className="font-mono text-xs">{e.action}</span> },
            { header: "Target", cell: (e) => <span className="block max-w-64 truncate" title={targetText(e)}>{targetText(e)}</span> },
            {
              header: "Outcome",
              cell: (e) => <OutcomeBadge outcome={e.outcome} />,
            },
            { header: "Source", cell: (e) => <span className="font-mono text-xs text-slate-500">{e.sourceAddress ?? "—"}</span> },
          ]}
        />
      )}
      <nav aria-label="Pages" className="mt-4 flex gap-3 text-sm">
        {cursor !== undefined ? (
          <Link href={`/audit?${query}`} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50">Newest</Link>
        ) : null}
        {page?.nextBefore ? (
          <Link href={`/audit?${new URLSearchParams([...query, ["before", page.nextBefore]])}`} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 hover:bg-slate-50">
            Older events →
          </Link>
        ) : null}
      </nav>
    </>
  );
}
