import Link from "next/link";
import { notFound } from "next/navigation";
import { AutoRefresh } from "@/components/auto-refresh";
import { DataTable } from "@/components/data-table";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { DeploymentActions } from "@/components/deployments/deployment-actions";
import { LogsPanel } from "@/components/deployments/logs-panel";
import { MetricsChart } from "@/components/deployments/metrics-chart";
import { StatusBadge } from "@/components/deployments/status-badge";
import { TryItPanel } from "@/components/deployments/try-it-panel";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { BerthError } from "@/lib/http/errors";
import { getDeployment, listDeploymentEvents } from "@/lib/deployments/deployments";
import { listLedger } from "@/lib/deployments/ledger";
import { listVersions } from "@/lib/registry/versions";

export const metadata = { title: "Deployment" };

export default async function DeploymentPage({ params }: { params: Promise<{ name: string }> }) {
  const { actor } = await requirePageActor();
  const { name } = await params;
  let deployment;
  try {
    deployment = await getDeployment(decodeURIComponent(name));
  } catch (error) {
    if (error instanceof BerthError && error.code === "not_found") notFound();
    throw error;
  }
  const [events, ledger, versions] = await Promise.all([listDeploymentEvents(deployment.name, 50), listLedger({ deploymentId: deployment.id, limit: 50 }), listVersions(deployment.model.name)]);
  const d = deployment;
  const placement = "servers" in d.placement ? d.placement.servers.join(", ") : Object.entries(d.placement.selector).map(([k, v]) => `${k}=${v}`).join(", ");
  return (
    <>
      <AutoRefresh seconds={2} />
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-500">
        <Link href="/deployments" className="hover:underline">Deployments</Link> / {d.name}
      </nav>
      <PageHeader title={d.name} description={`Inference: POST /api/v1/infer/${d.name}/v2/models/${d.model.name}/infer`} actions={<StatusBadge status={d.status} />} />
      {actorCan(actor, "deployments.write") ? (
        <div className="mb-6">
          <DeploymentActions name={d.name} model={d.model.name} version={d.model.version} versions={versions.map((v) => v.label)} replicas={d.replicas} desiredState={d.desiredState} previousVersion={d.previousVersion} />
        </div>
      ) : null}
      <dl className="mb-6 grid grid-cols-1 gap-x-6 gap-y-3 rounded-lg border border-slate-200 bg-white p-5 text-sm md:grid-cols-4">
        <div><dt className="text-slate-500">Model version</dt><dd><Link className="font-mono text-sky-700 hover:underline" href={`/models/${d.model.name}/versions/${d.model.version}`}>{d.model.name}@{d.model.version}</Link></dd></div>
        <div><dt className="text-slate-500">Ready</dt><dd data-testid="ready-replicas">{d.readyReplicas} of {d.replicas}</dd></div>
        <div><dt className="text-slate-500">Runtime</dt><dd>{d.runtime.name}</dd></div>
        <div><dt className="text-slate-500">Placement</dt><dd>{placement}</dd></div>
        <div><dt className="text-slate-500">Limits per replica</dt><dd>cpus {d.cpus ?? "unlimited"} · memory {d.memoryBytes ? formatBytes(d.memoryBytes) : "unlimited"} · gpus {d.gpus}</dd></div>
        <div><dt className="text-slate-500">Previous version</dt><dd>{d.previousVersion ?? "—"}</dd></div>
        <div><dt className="text-slate-500">Generation</dt><dd>{d.generation}</dd></div>
        <div><dt className="text-slate-500">Last change</dt><dd>{formatTime(d.updatedAt)} UTC by {d.updatedBy}</dd></div>
      </dl>

      <h2 className="mb-2 font-semibold">Replicas</h2>
      <div className="mb-6">
        <DataTable
          testId="replicas-table"
          rows={d.replicaStatuses}
          rowKey={(r) => r.id}
          rowTestId={(r) => `replica-${r.slot}-${r.current ? "current" : "old"}`}
          rowClassName={(r) => (r.desired ? undefined : "opacity-60")}
          columns={[
            { header: "Slot", cell: (r) => r.slot },
            { header: "Server", cell: (r) => <Link className="text-sky-700 hover:underline" href={`/servers/${r.server}`}>{r.server}</Link> },
            { header: "Version", cell: (r) => r.version },
            { header: "Phase", cell: (r) => (<span className="flex items-center gap-2"><StatusBadge status={r.phase} testId="replica-phase" />{r.desired ? null : <span className="text-xs text-slate-500">leaving</span>}</span>) },
            { header: "Progress", cell: (r) => (r.phase === "downloading" && r.progress ? <progress max={r.progress.totalBytes} value={r.progress.doneBytes} aria-label="Download progress" /> : "—") },
            { header: "Endpoint", cell: (r) => <span className="font-mono text-xs">{r.endpoint ?? "—"}</span> },
            { header: "Container", cell: (r) => <span className="font-mono text-xs">{r.containerId?.slice(0, 12) ?? "—"}</span> },
            { header: "Restarts", cell: (r) => r.restartCount },
            { header: "Message", cell: (r) => <span className="line-clamp-2 max-w-xs text-xs text-slate-600" title={r.message ?? undefined}>{r.message ?? ""}</span> },
          ]}
        />
      </div>

      <div className="mb-6 grid gap-6 lg:grid-cols-2">
        <MetricsChart name={d.name} />
        {actorCan(actor, "inference") ? <TryItPanel deployment={d.name} model={d.model.name} inputs={d.model.signature?.inputs ?? []} ready={d.readyReplicas > 0} /> : null}
      </div>

      <div className="mb-6"><LogsPanel name={d.name} /></div>

      <div className="grid gap-6 lg:grid-cols-2">
        <section aria-label="Events">
          <h2 className="mb-2 font-semibold">Events</h2>
          <ol className="space-y-1 rounded-lg border border-slate-200 bg-white p-4 text-sm" data-testid="events">
            {events.length === 0 ? <li className="text-slate-500">Nothing yet.</li> : null}
            {events.map((e) => (
              <li key={e.id} className="flex gap-3"><span className="whitespace-nowrap font-mono text-xs text-slate-500">{e.at.slice(11, 19)}</span><span>{e.message}</span></li>
            ))}
          </ol>
        </section>
        <section aria-label="Ledger">
          <div className="mb-2 flex items-baseline justify-between">
            <h2 className="font-semibold">Ledger</h2>
            <a className="text-sm text-sky-700 hover:underline" href={`/api/v1/deployments/${d.name}/ledger?format=csv&limit=1000`}>Export CSV</a>
          </div>
          <DataTable
            testId="ledger"
            rows={ledger}
            rowKey={(e) => e.id}
            columns={[
              { header: "Server", cell: (e) => e.server },
              { header: "Version", cell: (e) => e.version },
              { header: "Container", cell: (e) => <span className="font-mono text-xs">{e.containerId.slice(0, 12)}</span> },
              { header: "Ran (UTC)", cell: (e) => <span className="text-xs">{formatTime(e.startedAt)} → {e.stoppedAt ? formatTime(e.stoppedAt) : "now"}</span> },
              { header: "By", cell: (e) => <span className="text-xs">{e.startedBy}{e.stoppedBy ? ` / ${e.stoppedBy}` : ""}</span> },
              { header: "Why stopped", cell: (e) => <span className="text-xs">{e.stopReason ?? ""}</span> },
            ]}
          />
        </section>
      </div>
    </>
  );
}
