import Link from "next/link";
import { Plus, Rocket } from "lucide-react";
import { AutoRefresh } from "@/components/auto-refresh";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatTime } from "@/components/format";
import { StatusBadge } from "@/components/deployments/status-badge";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listDeployments } from "@/lib/deployments/deployments";

export const metadata = { title: "Deployments" };

export default async function DeploymentsPage() {
  const { actor } = await requirePageActor();
  const deployments = await listDeployments();
  const canWrite = actorCan(actor, "deployments.write");
  const newButton = canWrite ? (
    <Link href="/deployments/new" className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800">
      <Plus aria-hidden className="h-4 w-4" /> New deployment
    </Link>
  ) : undefined;
  return (
    <>
      <AutoRefresh seconds={3} />
      <PageHeader title="Deployments" description="Model versions assigned to servers, their replicas, health and traffic." actions={newButton} />
      {deployments.length === 0 ? (
        <EmptyState icon={Rocket} title="No deployments">
          <p>A deployment runs a model version on one or more servers. It needs a model in the registry and at least one enrolled server.</p>
        </EmptyState>
      ) : (
        <DataTable
          testId="deployments-table"
          rows={deployments}
          rowKey={(d) => d.id}
          rowTestId={(d) => `deployment-row-${d.name}`}
          columns={[
            { header: "Deployment", cell: (d) => <Link href={`/deployments/${d.name}`} className="font-medium text-sky-700 hover:underline">{d.name}</Link> },
            { header: "Status", cell: (d) => <StatusBadge status={d.status} /> },
            { header: "Model", cell: (d) => <Link href={`/models/${d.model.name}/versions/${d.model.version}`} className="font-mono text-xs hover:underline">{d.model.name}@{d.model.version}</Link> },
            { header: "Ready", cell: (d) => `${d.readyReplicas} / ${d.replicas}` },
            { header: "Runtime", cell: (d) => d.runtime.name },
            { header: "Placement", cell: (d) => ("servers" in d.placement ? d.placement.servers.join(", ") : Object.entries(d.placement.selector).map(([k, v]) => `${k}=${v}`).join(", ")) },
            { header: "Updated (UTC)", cell: (d) => <span className="whitespace-nowrap font-mono text-xs">{formatTime(d.updatedAt)}</span> },
          ]}
        />
      )}
    </>
  );
}
