import Link from "next/link";
import { Server } from "lucide-react";
import { AutoRefresh } from "@/components/auto-refresh";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { AddServer } from "@/components/servers/add-server";
import { StateBadge } from "@/components/servers/state-badge";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listServers } from "@/lib/fleet/servers";

export const metadata = { title: "Servers" };

export default async function ServersPage() {
  const { actor } = await requirePageActor();
  const servers = await listServers();
  const canWrite = actorCan(actor, "fleet.write");
  return (
    <>
      <AutoRefresh />
      <PageHeader
        title="Servers"
        description="Your organisation's servers that run inference containers, each with the Berth agent."
        actions={canWrite ? <AddServer /> : undefined}
      />
      {servers.length === 0 ? (
        <EmptyState icon={Server} title="No servers enrolled">
          <p>Add a server to get a one-time enrolment token and the command that starts the agent on it. The agent connects out to Berth; no inbound port is needed on the server.</p>
        </EmptyState>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="min-w-full text-left text-sm" data-testid="servers-table">
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="px-3 py-2">Server</th>
                <th scope="col" className="px-3 py-2">State</th>
                <th scope="col" className="px-3 py-2">Last seen (UTC)</th>
                <th scope="col" className="px-3 py-2">CPU</th>
                <th scope="col" className="px-3 py-2">Memory free</th>
                <th scope="col" className="px-3 py-2">GPUs</th>
                <th scope="col" className="px-3 py-2">Labels</th>
                <th scope="col" className="px-3 py-2">Agent</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {servers.map((s) => (
                <tr key={s.id} data-testid={`server-row-${s.name}`}>
                  <td className="px-3 py-2">
                    <Link href={`/servers/${s.name}`} className="font-medium text-sky-700 hover:underline">{s.name}</Link>
                    {s.hostname ? <span className="block text-xs text-slate-500">{s.hostname}</span> : null}
                  </td>
                  <td className="px-3 py-2"><StateBadge state={s.state} /></td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{s.lastSeenAt ? formatTime(s.lastSeenAt) : "never"}</td>
                  <td className="px-3 py-2">{s.inventory ? `${s.inventory.cpu.cores} cores` : "—"}</td>
                  <td className="px-3 py-2">{s.inventory ? `${formatBytes(s.inventory.memory.freeBytes)} of ${formatBytes(s.inventory.memory.totalBytes)}` : "—"}</td>
                  <td className="px-3 py-2">{s.inventory ? s.inventory.gpus.length || "none" : "—"}</td>
                  <td className="px-3 py-2">
                    <span className="flex flex-wrap gap-1">
                      {Object.entries(s.labels).map(([k, v]) => <span key={k} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs">{k}={v}</span>)}
                    </span>
                  </td>
                  <td className="px-3 py-2 font-mono text-xs">{s.agentVersion ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
