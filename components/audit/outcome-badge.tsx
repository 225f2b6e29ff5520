import clsx from "clsx";

const OUTCOME_STYLE: Record<string, string> = {
  SUCCESS: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  FAILURE: "bg-amber-50 text-amber-800 ring-amber-600/20",
  DENIED: "bg-rose-50 text-rose-700 ring-rose-600/20",
};

export function OutcomeBadge({ outcome }: { outcome: string }) {
  return <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", OUTCOME_STYLE[outcome])}>{outcome.toLowerCase()}</span>;
}
