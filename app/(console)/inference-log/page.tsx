import Link from "next/link";
import { Activity } from "lucide-react";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { requirePageActor } from "@/lib/auth/page-actor";
import { listInferenceLog, ZInferenceLogFilter } from "@/lib/gateway/inference-log";

export const metadata = { title: "Inference log" };

const field = "rounded-md border border-slate-300 px-2 py-1.5 text-sm";

/** Every request through the gateway (separate from the audit log, with its own retention), filterable and exportable. */
export default async function InferenceLogPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  await requirePageActor();
  const raw = await searchParams;
  const given = Object.fromEntries(["deployment", "status", "from", "to"].filter((k) => raw[k]).map((k) => [k, raw[k]!]));
  const parsed = ZInferenceLogFilter.safeParse(given);
  const cursor = raw.cursor && /^\d{1,19}$/.test(raw.cursor) ? raw.cursor : undefined;
  const page = parsed.success ? await listInferenceLog({ filter: parsed.data, limit: 100, cursor }) : null;
  const query = new URLSearchParams(given).toString();
  return (
    <>
      <PageHeader
        title="Inference log"
        description="Every request through the inference gateway: who called which deployment, from where, with what status and latency. Kept BERTH_INFERENCE_LOG_RETENTION_DAYS days (30 by default)."
        actions={<a href={`/api/v1/inference-log/export.csv${query ? `?${query}` : ""}`} className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50">Export CSV</a>}
      />
      <form className="mb-4 flex flex-wrap items-end gap-3 text-sm" method="get">
        <label className="grid gap-1"><span className="text-slate-600">Deployment</span><input name="deployment" defaultValue={raw.deployment ?? ""} className={field} placeholder="any" /></label>
        <label className="grid gap-1"><span className="text-slate-600">Status</span><input name="status" defaultValue={raw.status ?? ""} className={`${field} w-24`} placeholder="5xx" /></label>
        <label className="grid gap-1"><span className="text-slate-600">From (ISO 8601)</span><input name="from" defaultValue={raw.from ?? ""} className={field} placeholder="2026-11-25T00:00:00Z" /></label>
        <label className="grid gap-1"><span className="text-slate-600">To</span><input name="to" defaultValue={raw.to ?? ""} className={field} placeholder="now" /></label>
        <button type="submit" className="rounded-md bg-sky-700 px-3 py-1.5 font-medium text-white hover:bg-sky-800">Filter</button>
        {query ? <Link href="/inference-log" className="text-sky-700 hover:underline">Clear</Link> : null}
      </form>
      {!parsed.success ? (
        <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}</p>
      ) : page!.entries.length === 0 ? (
        <EmptyState icon={Activity} title={query || cursor ? "No requests match" : "No inference requests yet"}>
          <p>Requests to /api/v1/infer/… appear here about a second after they finish.</p>
        </EmptyState>
      ) : (
        <>
          <DataTable
            testId="inference-log"
            rows={page!.entries}
            rowKey={(e) => e.id}
            columns={[
              { header: "Time (UTC)", cell: (e) => <span className="whitespace-nowrap font-mono text-xs">{formatTime(e.at)}:{e.at.slice(17, 23)}</span> },
              { header: "Deployment", cell: (e) => <Link className="text-sky-700 hover:underline" href={`/deployments/${e.deployment}`}>{e.deployment}</Link> },
              { header: "Caller", cell: (e) => <span className="text-xs">{e.tokenLabel ?? "—"}</span> },
              { header: "From", cell: (e) => <span className="font-mono text-xs">{e.clientAddress ?? "—"}</span> },
              { header: "Request", cell: (e) => <span className="font-mono text-xs">{e.method} {e.path}</span> },
              { header: "Status", cell: (e) => <span className={e.status >= 500 ? "text-rose-700" : e.status >= 400 ? "text-amber-700" : undefined}>{e.status}</span> },
              { header: "Latency", cell: (e) => `${e.latencyMs.toFixed(1)} ms` },
              { header: "In / out", cell: (e) => <span className="text-xs">{formatBytes(e.requestBytes)} / {formatBytes(e.responseBytes)}</span> },
            ]}
          />
          {page!.nextCursor ? (
            <p className="mt-3 text-sm"><Link className="text-sky-700 hover:underline" href={`/inference-log?${new URLSearchParams({ ...given, cursor: page!.nextCursor })}`}>Older requests →</Link></p>
          ) : null}
        </>
      )}
    </>
  );
}
