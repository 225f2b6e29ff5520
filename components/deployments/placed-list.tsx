import Link from "next/link";
import type { Placed } from "@/lib/deployments/deployments";

/** "iris-prod on gpu-1 (ready)": where a version runs now, linked to its deployments. */
export function PlacedList({ placed }: { placed: Placed[] }) {
  if (placed.length === 0) return <span className="text-slate-500">not deployed</span>;
  return (
    <span className="flex flex-wrap gap-x-3 gap-y-1">
      {placed.map((p, i) => (
        <span key={`${p.deployment}-${p.server}-${i}`} className="whitespace-nowrap text-xs">
          <Link href={`/deployments/${p.deployment}`} className="text-sky-700 hover:underline">{p.deployment}</Link> on {p.server} ({p.phase})
        </span>
      ))}
    </span>
  );
}
