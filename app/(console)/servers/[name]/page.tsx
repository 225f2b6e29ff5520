import Link from "next/link";
import { notFound } from "next/navigation";
import { AutoRefresh } from "@/components/auto-refresh";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { ServerActions } from "@/components/servers/server-actions";
import { StateBadge } from "@/components/servers/state-badge";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { BerthError } from "@/lib/http/errors";
import { getServer, serverHistory } from "@/lib/fleet/servers";

export const metadata = { title: "Server" };

export default async function ServerPage({ params }: { params: Promise<{ name: string }> }) {
  const { actor } = await requirePageActor();
  const { name } = await params;
  let server;
  try {
    server = await getServer(decodeURIComponent(name));
  } catch (error) {
    if (error instanceof BerthError && error.code === "not_found") notFound();
    throw error;
  }
  const history = await serverHistory(server.id);
  const inv = server.inventory;
  const rows: [string, string][] = inv
    ? [
        ["Host", `${inv.hostname} (${inv.os.platform} ${inv.os.release}, ${inv.os.arch})`],
        ["Kernel", inv.os.kernel],
        ["CPU", `${inv.cpu.cores} × ${inv.cpu.model}`],
        ["Memory", `${formatBytes(inv.memory.freeBytes)} free of ${formatBytes(inv.memory.totalBytes)}`],
        ["Disk (artifact cache)", inv.disk ? `${formatBytes(inv.disk.freeBytes)} free of ${formatBytes(inv.disk.totalBytes)} at ${inv.disk.path}` : "unknown"],
        ["Docker Engine", inv.docker.available ? `${inv.docker.version} (API ${inv.docker.apiVersion})` : `not available: ${inv.docker.error}`],
        ["GPUs", inv.gpus.length ? inv.gpus.map((g) => `${g.name}, ${g.memoryTotalMiB ?? "?"} MiB, driver ${g.driverVersion ?? "?"}, ${g.utilizationPercent ?? "?"}% busy`).join("; ") : "none"],
        ["Agent", inv.agentVersion],
        ["Managed containers", String(inv.containers.length)],
      ]
    : [];
  return (
    <>
      <AutoRefresh />
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-500">
        <Link href="/servers" className="hover:underline">Servers</Link> / {server.name}
      </nav>
      <PageHeader title={server.name} actions={<StateBadge state={server.state} />} />
      {actorCan(actor, "fleet.write") ? <div className="mb-6"><ServerActions name={server.name} adminState={server.adminState} enrolled={server.enrolled} /></div> : null}
      <dl className="mb-6 grid grid-cols-1 gap-x-6 gap-y-3 rounded-lg border border-slate-200 bg-white p-5 text-sm md:grid-cols-3">
        <div><dt className="text-slate-500">Last seen</dt><dd>{server.lastSeenAt ? `${formatTime(server.lastSeenAt)} UTC` : "never"}</dd></div>
        <div><dt className="text-slate-500">Labels</dt><dd className="font-mono text-xs">{Object.entries(server.labels).map(([k, v]) => `${k}=${v}`).join(" ") || "none"}</dd></div>
        <div><dt className="text-slate-500">Desired state</dt><dd>generation {server.generation} (agent has {server.observedGeneration ?? "none"})</dd></div>
        {!server.enrolled ? <div className="md:col-span-3"><dt className="text-slate-500">Enrolment</dt><dd>Waiting for the agent; the token expires {server.enrolmentExpiresAt ? `${formatTime(server.enrolmentExpiresAt)} UTC` : "— (issue a new one)"}.</dd></div> : null}
      </dl>
      <section className="mb-6 rounded-lg border border-slate-200 bg-white p-5" aria-labelledby="inventory-heading">
        <h2 id="inventory-heading" className="mb-2 text-base font-semibold">Inventory</h2>
        {rows.length === 0 ? <p className="text-sm text-slate-600">The agent has not reported yet.</p> : (
          <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 text-sm" data-testid="inventory">
            {rows.map(([k, v]) => <div key={k} className="contents"><dt className="text-slate-500">{k}</dt><dd>{v}</dd></div>)}
          </dl>
        )}
      </section>
      <section className="rounded-lg border border-slate-200 bg-white p-5" aria-labelledby="history-heading">
        <h2 id="history-heading" className="mb-2 text-base font-semibold">History</h2>
        <ul className="divide-y divide-slate-100 text-sm" data-testid="server-history">
          {history.map((e) => (
            <li key={e.seq} className="flex flex-wrap gap-x-4 py-1.5">
              <span className="font-mono text-xs text-slate-500">{formatTime(e.at)}</span>
              <span className="font-mono text-xs">{e.action}</span>
              <span>{e.outcome.toLowerCase()}</span>
              <span className="text-slate-600">{e.actorLabel}</span>
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
