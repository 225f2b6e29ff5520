/**
 * bench/fleet's simulated agents, run in child processes (run.ts starts
 * several) so that the client side is not one saturated event loop and each
 * has its own open-file limit (10,000 agents hold over 10,000 sockets).
 * Each agent holds a desired-state long-poll open (after = the generation it
 * has) and heartbeats every 10 s at its own offset.
 */
import { Agent, request } from "undici";

export type FleetWorkerData = {
  base: string;
  credentials: string[];
  offsets: number[];
  heartbeatMs: number;
  rampMs: number;
  waitSeconds: number;
  body: string;
  /** Each beat reports another free-memory figure, as a real host's does (no two bodies alike). */
  liveInventory: boolean;
};
export type ToWorker = { type: "start"; data: FleetWorkerData } | { type: "measure"; on: boolean } | { type: "expect"; generation: number } | { type: "stop" } | { type: "report" };
export type FromWorker =
  | { type: "report"; latencies: number[]; heartbeatErrors: number; pollErrors: number; polling: number; arrivals: number[]; errorKinds: Record<string, number> }
  | { type: "stopped" };

// The agents arrive as the first message (10,000 credentials are too long for argv or the environment).
const data = await new Promise<FleetWorkerData>((resolve) =>
  process.once("message", (message: ToWorker) => {
    if (message.type === "start") resolve(message.data);
  }),
);
const port = { postMessage: (message: FromWorker) => process.send!(message), on: (event: "message", listener: (message: ToWorker) => void) => process.on(event, listener) };
// Long-polls: one connection each. Heartbeats: a bounded pool, so a slow moment does not open
// (and keep alive) a second socket per agent: the control plane's open-file limit here is
// 20,000, and 10,000 real agents, each with its own connection for both, would need 20,000.
const dispatcher = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 120_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
const heartbeats = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 120_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
const stop = new AbortController();
const now = () => performance.timeOrigin + performance.now();

let measuring = false;
let latencies: number[] = [];
let heartbeatErrors = 0;
const errorKinds: Record<string, number> = {};
const sawError = (kind: string) => {
  const key = kind.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<id>");
  errorKinds[key] = (errorKinds[key] ?? 0) + 1;
};
let pollErrors = 0;
let polling = 0;
let target = Infinity;
const n = data.credentials.length;
const generations = new Array<number>(n).fill(1);
let arrivals = new Array<number>(n).fill(NaN);

// Serialised once per generation (the agents' only varying field), not once per beat.
const bodies = new Map<number, string>();
function bodyFor(generation: number): string {
  if (data.liveInventory) return data.body.replace('"observedGeneration":1', `"observedGeneration":${generation}`).replace(FREE_MEMORY, `"freeBytes":${Math.floor(Math.random() * 1e11)}}`);
  let body = bodies.get(generation);
  if (body === undefined) bodies.set(generation, (body = data.body.replace('"observedGeneration":1', `"observedGeneration":${generation}`)));
  return body;
}
const FREE_MEMORY = /"freeBytes":\d+(?:\.\d+)?(?:e\+?\d+)?\}(?=,"disk")/;

async function heartbeat(i: number) {
  const started = performance.now();
  try {
    const res = await request(`${data.base}/api/v1/agent/heartbeat`, {
      dispatcher: heartbeats,
      method: "POST",
      headers: { authorization: `Bearer ${data.credentials[i]}`, "content-type": "application/json" },
      body: bodyFor(generations[i]!),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      heartbeatErrors++;
      sawError(`heartbeat ${res.statusCode} ${text.slice(0, 120)}`);
    }
    else if (measuring) latencies.push(performance.now() - started);
  } catch (error) {
    if (!stop.signal.aborted) {
      heartbeatErrors++;
      sawError(`heartbeat ${(error as Error).message}`);
    }
  }
}

async function longPoll(i: number) {
  while (!stop.signal.aborted) {
    polling++;
    try {
      const res = await request(`${data.base}/api/v1/agent/desired-state?after=${generations[i]}&waitSeconds=${data.waitSeconds}`, {
        dispatcher,
        headers: { authorization: `Bearer ${data.credentials[i]}` },
        signal: stop.signal,
      });
      const text = await res.body.text();
      polling--;
      if (res.statusCode !== 200) {
        pollErrors++;
        sawError(`long-poll ${res.statusCode} ${text.slice(0, 120)}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      const generation = (JSON.parse(text) as { generation: number }).generation;
      generations[i] = generation;
      if (generation >= target && Number.isNaN(arrivals[i]!)) arrivals[i] = now();
    } catch (error) {
      polling--;
      if (!stop.signal.aborted) {
        pollErrors++;
        sawError(`long-poll ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

const timers: NodeJS.Timeout[] = [];
for (let i = 0; i < n; i++) {
  timers.push(setTimeout(() => void longPoll(i), (i / n) * data.rampMs));
  timers.push(
    setTimeout(() => {
      void heartbeat(i);
      timers.push(setInterval(() => void heartbeat(i), data.heartbeatMs));
    }, data.offsets[i]!),
  );
}

port.on("message", (message: ToWorker) => {
  if (message.type === "measure") {
    measuring = message.on;
    if (message.on) {
      latencies = [];
      heartbeatErrors = 0;
      pollErrors = 0;
    }
  } else if (message.type === "expect") {
    target = message.generation;
    arrivals = new Array<number>(n).fill(NaN);
  } else if (message.type === "report") {
    port.postMessage({ type: "report", latencies, heartbeatErrors, pollErrors, polling, arrivals, errorKinds } satisfies FromWorker);
  } else if (message.type === "stop") {
    stop.abort();
    for (const timer of timers) clearTimeout(timer);
    void Promise.all([dispatcher.destroy(), heartbeats.destroy()]).catch(() => {}).finally(() => {
      port.postMessage({ type: "stopped" } satisfies FromWorker);
      process.disconnect();
    });
  }
});
