import clsx from "clsx";

const STYLE: Record<string, string> = {
  online: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  offline: "bg-rose-50 text-rose-700 ring-rose-600/20",
  pending: "bg-slate-100 text-slate-600 ring-slate-500/20",
  draining: "bg-amber-50 text-amber-800 ring-amber-600/20",
  disabled: "bg-slate-200 text-slate-700 ring-slate-500/30",
};

export function StateBadge({ state }: { state: string }) {
  return <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", STYLE[state])} data-testid="server-state">{state}</span>;
}
