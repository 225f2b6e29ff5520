import clsx from "clsx";

const STYLE: Record<string, string> = {
  pending: "bg-amber-50 text-amber-800 ring-amber-600/20",
  succeeded: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  failed: "bg-rose-50 text-rose-700 ring-rose-600/20",
};

export function DeliveryState({ state }: { state: string }) {
  return <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", STYLE[state])} data-testid="delivery-state">{state}</span>;
}
