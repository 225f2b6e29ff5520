import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { registerStateGauges } from "@/lib/observability/state-metrics";

/**
 * Inference metrics, two ways:
 *  - Prometheus series (prom-client) for /api/metrics: per deployment request
 *    and error counts and a latency histogram, plus Node's process defaults
 *    and a count of HTTP requests by handler.
 *  - Recent windows for the deployment page's chart: per deployment, 10-second
 *    buckets over the last 15 minutes with count, errors and p50/p95/p99.
 *
 * Both are per control-plane process (kept in memory, lost on restart; with
 * several control-plane processes each reports its own share). On globalThis:
 * server/ and Next's bundle load this module separately in one process.
 */
export const WINDOW_SECONDS = 10;
export const WINDOW_COUNT = 90; // 15 minutes

// Latency histogram boundaries for the windows: log-spaced from 0.1 ms to ~100 s,
// 16 per decade (each bucket about 15 % wide), so a percentile is within about 7 %.
const PER_DECADE = 16;
const MIN_MS = 0.1;
const BINS = 6 * PER_DECADE + 2;

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BINS - 1, 1 + Math.floor(Math.log10(ms / MIN_MS) * PER_DECADE));
}
function binUpperMs(bin: number): number {
  return MIN_MS * 10 ** (bin / PER_DECADE);
}
function binLowerMs(bin: number): number {
  return bin === 0 ? 0 : MIN_MS * 10 ** ((bin - 1) / PER_DECADE);
}

type Window = { start: number; count: number; errors: number; bins: Uint32Array };

type State = {
  registry: Registry;
  requests: Counter<"deployment" | "code">;
  errors: Counter<"deployment">;
  latency: Histogram<"deployment">;
  http: Counter<"handler" | "code">;
  logDropped: Counter;
  windows: Map<string, Window[]>;
};

const holder = globalThis as unknown as { __berthMetrics?: State };

function state(): State {
  if (holder.__berthMetrics) return holder.__berthMetrics;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "berth_" });
  registerStateGauges(registry);
  holder.__berthMetrics = {
    registry,
    requests: new Counter({ name: "berth_inference_requests_total", help: "Inference requests through the gateway, by deployment and status code", labelNames: ["deployment", "code"], registers: [registry] }),
    errors: new Counter({ name: "berth_inference_errors_total", help: "Inference requests that failed: status >= 500 or no upstream answer", labelNames: ["deployment"], registers: [registry] }),
    latency: new Histogram({
      name: "berth_inference_request_duration_seconds",
      help: "Time from the request's arrival at the gateway to the end of the response",
      labelNames: ["deployment"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    http: new Counter({ name: "berth_http_requests_total", help: "HTTP requests answered by the control plane, by handler (gateway, node, next) and status class", labelNames: ["handler", "code"], registers: [registry] }),
    logDropped: new Counter({ name: "berth_inference_log_dropped_total", help: "Access-log rows dropped because the write buffer was full or a write failed", registers: [registry] }),
    windows: new Map(),
  };
  return holder.__berthMetrics;
}

/** Records one finished gateway request. `status` 0 means no response reached the client. */
export function recordInference(options: { deployment: string; status: number; latencyMs: number; now?: number }): void {
  const s = state();
  const failed = options.status === 0 || options.status >= 500;
  s.requests.inc({ deployment: options.deployment, code: String(options.status) });
  if (failed) s.errors.inc({ deployment: options.deployment });
  s.latency.observe({ deployment: options.deployment }, options.latencyMs / 1000);

  const now = options.now ?? Date.now();
  const start = Math.floor(now / 1000 / WINDOW_SECONDS) * WINDOW_SECONDS * 1000;
  let list = s.windows.get(options.deployment);
  if (!list) s.windows.set(options.deployment, (list = []));
  let current = list.at(-1);
  if (!current || current.start !== start) {
    current = { start, count: 0, errors: 0, bins: new Uint32Array(BINS) };
    list.push(current);
    const oldest = start - (WINDOW_COUNT - 1) * WINDOW_SECONDS * 1000;
    while (list.length > 0 && list[0]!.start < oldest) list.shift();
  }
  current.count++;
  if (failed) current.errors++;
  current.bins[binOf(options.latencyMs)]!++;
}

export function countHttpRequest(handler: "gateway" | "node" | "next", status: number): void {
  state().http.inc({ handler, code: `${Math.floor(status / 100)}xx` });
}

export function countDroppedLogRows(n: number): void {
  state().logDropped.inc(n);
}

/** The latency (ms) below which `q` of the window's requests fell, interpolated within a bin. */
function percentile(bins: Uint32Array, count: number, q: number): number {
  const rank = q * count;
  let seen = 0;
  for (let bin = 0; bin < bins.length; bin++) {
    const n = bins[bin]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lower = binLowerMs(bin);
      const upper = binUpperMs(bin);
      return Number((lower + ((rank - seen) / n) * (upper - lower)).toFixed(3));
    }
    seen += n;
  }
  return binUpperMs(bins.length - 1);
}

export type MetricsBucket = { start: string; count: number; errors: number; p50: number | null; p95: number | null; p99: number | null };

/** The last 15 minutes of a deployment, oldest first, one bucket per 10 s (empty ones included). */
export function recentWindows(deployment: string, now = Date.now()): { windowSeconds: number; buckets: MetricsBucket[] } {
  const list = state().windows.get(deployment) ?? [];
  const byStart = new Map(list.map((w) => [w.start, w]));
  const last = Math.floor(now / 1000 / WINDOW_SECONDS) * WINDOW_SECONDS * 1000;
  const buckets: MetricsBucket[] = [];
  for (let i = WINDOW_COUNT - 1; i >= 0; i--) {
    const start = last - i * WINDOW_SECONDS * 1000;
    const w = byStart.get(start);
    buckets.push(
      w && w.count > 0
        ? { start: new Date(start).toISOString(), count: w.count, errors: w.errors, p50: percentile(w.bins, w.count, 0.5), p95: percentile(w.bins, w.count, 0.95), p99: percentile(w.bins, w.count, 0.99) }
        : { start: new Date(start).toISOString(), count: 0, errors: 0, p50: null, p95: null, p99: null },
    );
  }
  return { windowSeconds: WINDOW_SECONDS, buckets };
}

/** Forgets a deployment's series and windows (after it is deleted). */
export function forgetDeploymentMetrics(deployment: string): void {
  const s = state();
  s.windows.delete(deployment);
  s.errors.remove({ deployment });
  s.latency.remove({ deployment });
}

export async function prometheusText(): Promise<{ contentType: string; body: string }> {
  const s = state();
  return { contentType: s.registry.contentType, body: await s.registry.metrics() };
}
