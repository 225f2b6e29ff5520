"use client";

import { useEffect, useState } from "react";
import { apiRequest } from "../api-client";

type Bucket = { start: string; count: number; errors: number; p50: number | null; p95: number | null; p99: number | null };

const WIDTH = 640;
const HEIGHT = 140;

function path(points: [number, number][]) {
  return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

/**
 * Requests and latency through the gateway over the last minutes (10-second
 * windows kept by the control plane). A hand-drawn SVG: two lines and bars
 * do not need a charting library in the bundle.
 */
export function MetricsChart({ name, title = "Traffic through the gateway" }: { name: string; title?: string }) {
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      const result = await apiRequest<{ windowSeconds: number; buckets: Bucket[] }>(`/api/v1/deployments/${name}/metrics`);
      if (stopped) return;
      if (result.ok) {
        setBuckets(result.data.buckets);
        setError(null);
      } else setError(result.message);
    };
    void load();
    const timer = setInterval(load, 5000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [name]);

  const data = buckets ?? [];
  const total = data.reduce((sum, b) => sum + b.count, 0);
  const errors = data.reduce((sum, b) => sum + b.errors, 0);
  const maxCount = Math.max(1, ...data.map((b) => b.count));
  const maxLatency = Math.max(1, ...data.map((b) => b.p99 ?? 0));
  const x = (i: number) => (data.length <= 1 ? 0 : (i / (data.length - 1)) * WIDTH);
  const y = (ms: number) => HEIGHT - (ms / maxLatency) * (HEIGHT - 10);
  const line = (key: "p50" | "p99") => path(data.flatMap((b, i) => (b[key] === null ? [] : [[x(i), y(b[key]!)] as [number, number]])));
  const last = [...data].reverse().find((b) => b.count > 0);
  return (
    <section aria-label={`Traffic: ${name}`} className="rounded-lg border border-slate-200 bg-white p-4">
      <div className="mb-2 flex flex-wrap items-baseline justify-between gap-2">
        <h2 className="font-semibold">{title}</h2>
        <p className="text-xs text-slate-500" data-testid="metrics-summary">
          {total} requests, {errors} errors in the last {Math.round((data.length * 10) / 60)} min
          {last ? ` · latest p50 ${last.p50?.toFixed(1)} ms, p99 ${last.p99?.toFixed(1)} ms` : ""}
        </p>
      </div>
      {error ? <p className="text-sm text-slate-500">Metrics unavailable: {error}</p> : null}
      {buckets && total === 0 ? <p className="text-sm text-slate-500">No requests yet. Send one with “Try it” or `berth infer`.</p> : null}
      {total > 0 ? (
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="h-36 w-full" role="img" aria-label={`Requests per 10 s and latency p50/p99 over time; max p99 ${maxLatency.toFixed(1)} ms`}>
          {data.map((b, i) => (
            <rect key={b.start} x={x(i) - 2} width={4} y={HEIGHT - (b.count / maxCount) * (HEIGHT - 10)} height={(b.count / maxCount) * (HEIGHT - 10)} className={b.errors ? "fill-rose-200" : "fill-slate-200"} />
          ))}
          <path d={line("p99")} className="fill-none stroke-amber-500" strokeWidth={1.5} />
          <path d={line("p50")} className="fill-none stroke-sky-600" strokeWidth={1.5} />
        </svg>
      ) : null}
      {total > 0 ? (
        <p className="mt-1 flex gap-4 text-xs text-slate-500">
          <span><span className="mr-1 inline-block h-2 w-3 bg-slate-200" />requests / 10 s</span>
          <span><span className="mr-1 inline-block h-0.5 w-3 bg-sky-600 align-middle" />p50</span>
          <span><span className="mr-1 inline-block h-0.5 w-3 bg-amber-500 align-middle" />p99 (max {maxLatency.toFixed(1)} ms)</span>
        </p>
      ) : null}
    </section>
  );
}
