import clsx from "clsx";

const STYLE: Record<string, string> = {
  running: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  ready: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  progressing: "bg-sky-50 text-sky-700 ring-sky-600/20",
  pending: "bg-slate-100 text-slate-600 ring-slate-500/20",
  downloading: "bg-sky-50 text-sky-700 ring-sky-600/20",
  starting: "bg-sky-50 text-sky-700 ring-sky-600/20",
  degraded: "bg-amber-50 text-amber-800 ring-amber-600/20",
  unhealthy: "bg-amber-50 text-amber-800 ring-amber-600/20",
  failed: "bg-rose-50 text-rose-700 ring-rose-600/20",
  stopping: "bg-slate-100 text-slate-600 ring-slate-500/20",
  stopped: "bg-slate-200 text-slate-700 ring-slate-500/30",
  deleting: "bg-slate-200 text-slate-700 ring-slate-500/30",
};

/** A deployment's status or a replica's phase, coloured by what it asks of the operator. */
export function StatusBadge({ status, testId = "deployment-status" }: { status: string; testId?: string }) {
  return <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", STYLE[status] ?? STYLE.pending)} data-testid={testId}>{status}</span>;
}
