import Link from "next/link";
import { Boxes, Rocket, Server } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { StateBadge } from "@/components/servers/state-badge";
import { StatusBadge } from "@/components/deployments/status-badge";
import { MetricsChart } from "@/components/deployments/metrics-chart";
import { OutcomeBadge } from "@/components/audit/outcome-badge";
import { formatBytes } from "@/components/format";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listServers, type ServerView } from "@/lib/fleet/servers";
import { listDeployments } from "@/lib/deployments/deployments";
import { listAuditEvents } from "@/lib/audit/list-events";

export const metadata = { title: "Overview" };

const STEPS = [
  { icon: Boxes, title: "1. Register a model", body: "Upload a model artifact into the versioned registry.", href: "/models", cta: "Go to Models" },
  { icon: Server, title: "2. Enrol a server", body: "Add one of your servers and run the Berth agent on it.", href: "/servers", cta: "Go to Servers" },
  { icon: Rocket, title: "3. Deploy", body: "Assign a model version to servers and watch it come up.", href: "/deployments", cta: "Go to Deployments" },
];

const SERVER_STATES = ["online", "offline", "draining", "disabled", "pending"] as const;
const DEPLOYMENT_STATES = ["running", "progressing", "degraded", "failed", "stopping", "stopped", "deleting"] as const;
const CHARTED = 4;

function Tally({ title, testId, counts, href, Badge }: { title: string; testId: string; counts: [string, number][]; href: string; Badge: (props: { state: string }) => React.ReactNode }) {
  const total = counts.reduce((n, [, c]) => n + c, 0);
  return (
    <section aria-label={title} data-testid={testId} className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="flex items-baseline justify-between font-semibold">
        {title} <Link href={href} className="text-sm font-normal text-sky-700 hover:underline">{total} →</Link>
      </h2>
      {total === 0 ? (
        <p className="mt-2 text-sm text-slate-500">None yet.</p>
      ) : (
        <>
          {/* One stacked bar: the share of each state at a glance. */}
          <div className="mt-3 flex h-2 overflow-hidden rounded-full bg-slate-100" aria-hidden>
            {counts.filter(([, c]) => c > 0).map(([state, c]) => (
              <span key={state} style={{ width: `${(c / total) * 100}%` }} className={BAR[state] ?? "bg-slate-400"} />
            ))}
          </div>
          <ul className="mt-3 flex flex-wrap gap-x-4 gap-y-2 text-sm">
            {counts.filter(([, c]) => c > 0).map(([state, c]) => (
              <li key={state} className="flex items-center gap-1.5"><Badge state={state} /> <span className="tabular-nums">{c}</span></li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

const BAR: Record<string, string> = {
  online: "bg-emerald-500", running: "bg-emerald-500", ready: "bg-emerald-500",
  progressing: "bg-sky-500", pending: "bg-slate-300",
  degraded: "bg-amber-500", draining: "bg-amber-500",
  offline: "bg-rose-500", failed: "bg-rose-500",
  disabled: "bg-slate-500", stopped: "bg-slate-400", stopping: "bg-slate-300", deleting: "bg-slate-300",
};

function UsageBar({ label, used, total, format }: { label: string; used: number; total: number; format: (n: number) => string }) {
  const share = total > 0 ? Math.min(1, used / total) : 0;
  return (
    <div className="grid grid-cols-[5.5rem_1fr_9rem] items-center gap-2 text-xs">
      <span className="text-slate-500">{label}</span>
      <span className="h-2 overflow-hidden rounded-full bg-slate-100" role="meter" aria-label={`${label} used`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(share * 100)}>
        <span className={`block h-full ${share > 0.9 ? "bg-rose-500" : share > 0.75 ? "bg-amber-500" : "bg-sky-500"}`} style={{ width: `${share * 100}%` }} />
      </span>
      <span className="tabular-nums text-slate-600">{format(used)} / {format(total)}</span>
    </div>
  );
}

function Capacity({ servers }: { servers: ServerView[] }) {
  const reporting = servers.filter((s) => s.inventory);
  return (
    <section aria-label="Capacity per server" data-testid="capacity" className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="font-semibold">Capacity per server</h2>
      {reporting.length === 0 ? (
        <p className="mt-2 text-sm text-slate-500">No server has reported its inventory yet.</p>
      ) : (
        <ul className="mt-3 grid gap-4">
          {reporting.map((s) => {
            const inv = s.inventory!;
            return (
              <li key={s.id} className="grid gap-1">
                <p className="flex items-center gap-2 text-sm">
                  <Link href={`/servers/${s.name}`} className="font-medium text-sky-700 hover:underline">{s.name}</Link>
                  <StateBadge state={s.state} />
                  <span className="text-xs text-slate-500">{inv.cpu.cores} cores{inv.gpus.length ? ` · ${inv.gpus.length} GPU` : ""} · {inv.containers.length} containers</span>
                </p>
                <UsageBar label="Memory" used={inv.memory.totalBytes - inv.memory.freeBytes} total={inv.memory.totalBytes} format={formatBytes} />
                {inv.disk ? <UsageBar label="Cache disk" used={inv.disk.totalBytes - inv.disk.freeBytes} total={inv.disk.totalBytes} format={formatBytes} /> : null}
                {inv.gpus.map((gpu) => (
                  <UsageBar key={gpu.index} label={`GPU ${gpu.index}`} used={(gpu.memoryUsedMiB ?? 0) * 1024 ** 2} total={(gpu.memoryTotalMiB ?? 0) * 1024 ** 2} format={formatBytes} />
                ))}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The operator's first look: fleet health, deployments by state, what failed, what happened. */
export default async function OverviewPage() {
  const { actor } = await requirePageActor();
  const auditor = actorCan(actor, "audit.read");
  const [servers, deployments, recent, failures] = await Promise.all([
    listServers(),
    listDeployments(),
    auditor ? listAuditEvents({ limit: 8 }) : null,
    auditor ? listAuditEvents({ filter: { outcome: "FAILURE" }, limit: 5 }) : null,
  ]);
  const count = <T extends string>(states: readonly T[], values: string[]): [string, number][] => states.map((s) => [s, values.filter((v) => v === s).length]);
  const troubled = deployments.flatMap((d) =>
    d.replicaStatuses.filter((r) => r.phase === "failed" || r.phase === "unhealthy").map((r) => ({ deployment: d.name, ...r })),
  );
  const charted = deployments.filter((d) => d.desiredState === "running").slice(0, CHARTED);
  const empty = servers.length === 0 && deployments.length === 0;

  return (
    <>
      <PageHeader title="Overview" description="Fleet health, deployments, capacity and recent activity." />
      {empty ? (
        <section aria-labelledby="getting-started" className="mb-6">
          <h2 id="getting-started" className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-500">Getting started</h2>
          <ol className="grid gap-4 md:grid-cols-3">
            {STEPS.map(({ icon: Icon, title, body, href, cta }) => (
              <li key={href} className="flex flex-col rounded-lg border border-slate-200 bg-white p-5">
                <Icon aria-hidden className="h-6 w-6 text-sky-600" />
                <h3 className="mt-3 font-semibold">{title}</h3>
                <p className="mt-1 flex-1 text-sm text-slate-600">{body}</p>
                <Link href={href} className="mt-4 text-sm font-medium text-sky-700 hover:underline">{cta} →</Link>
              </li>
            ))}
          </ol>
        </section>
      ) : null}

      <div className="grid gap-4 md:grid-cols-2">
        <Tally title="Fleet health" testId="fleet-health" href="/servers" counts={count(SERVER_STATES, servers.map((s) => s.state))} Badge={({ state }) => <StateBadge state={state} />} />
        <Tally title="Deployments by state" testId="deployments-by-state" href="/deployments" counts={count(DEPLOYMENT_STATES, deployments.map((d) => d.status))} Badge={({ state }) => <StatusBadge status={state} testId="overview-status" />} />
      </div>

      <section aria-label="Recent failures" data-testid="recent-failures" className="mt-4 rounded-lg border border-slate-200 bg-white p-4">
        <h2 className="font-semibold">Recent failures</h2>
        {troubled.length === 0 && !failures?.events.length ? <p className="mt-2 text-sm text-slate-500">Nothing has failed recently.</p> : null}
        <ul className="mt-2 grid gap-2 text-sm">
          {troubled.map((r) => (
            <li key={r.id} className="flex flex-wrap items-baseline gap-2">
              <StatusBadge status={r.phase} testId="replica-phase" />
              <Link href={`/deployments/${r.deployment}`} className="font-medium text-sky-700 hover:underline">{r.deployment}</Link>
              <span className="text-slate-500">on {r.server}</span>
              {r.message ? <span className="truncate text-xs text-slate-600" title={r.message}>{r.message.split("\n")[0]}</span> : null}
            </li>
          ))}
          {failures?.events.map((e) => (
            <li key={e.seq} className="flex flex-wrap items-baseline gap-2">
              <OutcomeBadge outcome={e.outcome} />
              <Link href={`/audit/${e.seq}`} className="font-mono text-xs text-sky-700 hover:underline">{e.action}</Link>
              <span className="text-slate-500">{e.targetLabel ?? ""}</span>
              <span className="text-xs text-slate-500">{e.at.replace("T", " ").slice(0, 19)} UTC</span>
            </li>
          ))}
        </ul>
      </section>

      {charted.length ? (
        <div className="mt-4 grid gap-4 lg:grid-cols-2" data-testid="overview-traffic">
          {charted.map((d) => <MetricsChart key={d.id} name={d.name} title={`Traffic: ${d.name}`} />)}
        </div>
      ) : null}

      <div className="mt-4 grid gap-4 lg:grid-cols-2">
        <Capacity servers={servers} />
        {recent ? (
          <section aria-label="Recent activity" data-testid="recent-activity" className="rounded-lg border border-slate-200 bg-white p-4">
            <h2 className="flex items-baseline justify-between font-semibold">
              Recent activity <Link href="/audit" className="text-sm font-normal text-sky-700 hover:underline">Audit log →</Link>
            </h2>
            <ul className="mt-2 grid gap-1.5 text-sm">
              {recent.events.map((e) => (
                <li key={e.seq} className="grid grid-cols-[9rem_1fr_auto] items-baseline gap-2">
                  <span className="font-mono text-xs text-slate-500">{e.at.replace("T", " ").slice(5, 19)}</span>
                  <span className="truncate"><span className="font-mono text-xs">{e.action}</span> <span className="text-slate-500">by {e.actorLabel}</span></span>
                  <OutcomeBadge outcome={e.outcome} />
                </li>
              ))}
            </ul>
          </section>
        ) : null}
      </div>
    </>
  );
}
