/**
 * bench/fleet: how many agents one control-plane process carries.
 *
 * For each N it registers N enrolled servers (straight into the database:
 * enrolment is not what is measured), then runs N light agents speaking the
 * real protocol, spread over child processes (bench/fleet/agents.ts): each holds
 * a desired-state long-poll open and sends a heartbeat (with a realistic
 * inventory) every 10 s, spread evenly. After a warm-up it measures heartbeat
 * latency (p50, p99) and errors, the CPU (share of one core) of the control
 * plane, of its PostgreSQL and of this client, and the control plane's
 * resident memory. Then it bumps the desired-state generation of all N
 * servers in one transaction (with the NOTIFY bumpGeneration sends) and
 * measures how long until every agent's long-poll has answered with it.
 *
 *   npm run build && node --import tsx bench/fleet/run.ts [--agents 1000,2500,5000,10000] [--seconds 60]
 *     [--processes 2] [--warmup 20] [--ramp SECONDS] [--cpu-prof DIR] [--transitions] [--live-inventory] [--root DIR]
 *
 * Servers start online (steady state). With --transitions they start never-seen, so the
 * warm-up and measurement include every server's first, audited, transition to online.
 * With --live-inventory every heartbeat reports another free-memory figure, as real hosts
 * do; without it a host's body repeats until its generation changes.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { freePort, rssKiB } from "../common";
import pg from "pg";
import type { FleetWorkerData, FromWorker, ToWorker } from "./agents";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const counts = option("agents", "1000,2500,5000,10000").split(",").map(Number);
const seconds = Number(option("seconds", "60"));
const warmupSeconds = Number(option("warmup", "20"));
const workerCount = Number(option("processes", "2"));
const rampSeconds = Number(option("ramp", "0")); // 0: one new long-poll per ms, at most 10 s
const cpuProfDir = option("cpu-prof", "");
const transitions = args.includes("--transitions");
const liveInventory = args.includes("--live-inventory");
// --root DIR: the control plane from another checkout (same dependencies), e.g. an A/B against main.
const root = path.resolve(option("root", path.resolve(import.meta.dirname, "../..")));
const work = mkdtempSync(path.join("/var/tmp", "berth-bench-fleet-"));
chmodSync(work, 0o711);

const inventory = {
  hostname: "bench-host",
  os: { platform: "linux", release: "6.1.0", kernel: "#1 SMP Debian", arch: "x64" },
  cpu: { model: "AMD EPYC 7763 64-Core Processor", cores: 64 },
  memory: { totalBytes: 512e9, freeBytes: 300e9 },
  disk: { path: "/var/lib/berth-agent/cache", totalBytes: 2e12, freeBytes: 1e12 },
  docker: { available: true, version: "24.0.7", apiVersion: "1.43", error: null },
  gpus: Array.from({ length: 8 }, (_, index) => ({ index, name: "NVIDIA A100-SXM4-80GB", memoryTotalMiB: 81920, memoryUsedMiB: 1024, driverVersion: "535.129.03", utilizationPercent: 37 })),
  agentVersion: "bench",
  containers: [],
};

/** utime + stime (+ those of waited-for children with `children`), in clock ticks. */
function cpuTicks(pid: number, children = false): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]) + (children ? Number(fields[13]) + Number(fields[14]) : 0);
  } catch {
    return 0;
  }
}

/** The postmaster and every backend it runs (exited backends count through its children's times). */
function postgresTicks(postmaster: number): number {
  let total = cpuTicks(postmaster, true);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(fields[1]) === postmaster) total += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Nanoseconds the process's main thread spent runnable but waiting for a CPU (other work on the machine). */
function runQueueNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
  } catch {
    return 0;
  }
}

const rssMiB = (pid: number) => rssKiB(pid) / 1024;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

type Fleet = { workers: ChildProcess[]; ask: () => Promise<Extract<FromWorker, { type: "report" }>[]>; send: (m: ToWorker) => void; stop: () => Promise<void> };

function startFleet(base: string, credentials: string[]): Fleet {
  const n = credentials.length;
  const body = JSON.stringify({ inventory, observedGeneration: 1 });
  const workers = Array.from({ length: workerCount }, (_, w) => {
    const mine = credentials.map((c, i) => [c, i] as const).filter(([, i]) => i % workerCount === w);
    const data: FleetWorkerData = {
      base,
      credentials: mine.map(([c]) => c),
      offsets: mine.map(([, i]) => (i / n) * 10_000),
      heartbeatMs: 10_000,
      rampMs: rampSeconds > 0 ? rampSeconds * 1000 : Math.min(10_000, n), // when the long-polls open
      waitSeconds: 55,
      body,
      liveInventory,
    };
    const worker = fork(new URL("./agents.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"], serialization: "advanced" });
    worker.send({ type: "start", data } satisfies ToWorker);
    worker.on("exit", (code) => {
      if (code !== 0 && code !== null) {
        process.stderr.write(`agent process exited ${code}\n`);
        process.exit(1);
      }
    });
    return worker;
  });
  const send = (message: ToWorker) => workers.forEach((w) => w.send(message));
  const next = (worker: ChildProcess, type: FromWorker["type"]) =>
    new Promise<FromWorker>((resolve) => {
      const on = (message: FromWorker) => {
        if (message.type !== type) return;
        worker.off("message", on);
        resolve(message);
      };
      worker.on("message", on);
    });
  return {
    workers,
    send,
    ask: async () => {
      const replies = workers.map((w) => next(w, "report"));
      send({ type: "report" });
      return (await Promise.all(replies)) as Extract<FromWorker, { type: "report" }>[];
    },
    stop: async () => {
      const stopped = workers.map((w) => next(w, "stopped"));
      send({ type: "stop" });
      await Promise.all(stopped);
    },
  };
}

/** Each agent holds a long-poll socket and, while one is in flight, a heartbeat socket; the server holds the other ends. */
function checkOpenFileLimit(agents: number) {
  const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
  const needed = Math.ceil(agents * 1.2) + 1024; // the control plane's share; each client process holds agents / processes
  if (limit < needed) process.stderr.write(`warning: open-file limit ${limit} < ${needed} for ${agents} agents; run under \`ulimit -n ${Math.max(65536, needed)}\`\n`);
}

async function main() {
  checkOpenFileLimit(Math.max(...counts));
  const port = await freePort();
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn", BERTH_DB_POOL_SIZE: "20" };
  delete env.DATABASE_URL;
  const server = spawn(process.execPath, [...(cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(cpuProfDir)] : []), "--import", "tsx", "server/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // However this process ends, the control plane (and its PostgreSQL) stops with it.
  process.once("exit", () => server.kill("SIGTERM"));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    server.stdout!.on("data", (c: Buffer) => ((seen += c), seen.includes("Berth is running") ? resolve() : undefined));
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  const password = readFileSync(path.join(dataDir, "secrets", "postgres-password"), "utf8").trim();
  const pidFile = readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n");
  const postmaster = Number(pidFile[0]);
  const db = new pg.Client({ connectionString: `postgresql://berth:${password}@127.0.0.1:${pidFile[3]!.trim()}/berth` });
  await db.connect();
  const base = `http://127.0.0.1:${port}`;
  const rows: string[] = [];
  const table: string[] = [];
  try {
    for (const n of counts) {
      await db.query("DELETE FROM servers");
      const credentials: string[] = [];
      for (let start = 0; start < n; start += 1000) {
        const batch = Array.from({ length: Math.min(1000, n - start) }, () => `berth_agent_${randomBytes(32).toString("base64url")}`);
        credentials.push(...batch);
        // Already online, as in steady state: the first heartbeat of a NEVER_SEEN or OFFLINE server is an
        // audited transaction, serialised by the audit chain's lock (`--transitions` measures that storm).
        const state = transitions ? "NEVER_SEEN" : "ONLINE";
        const values = batch.map((_, i) => `(gen_random_uuid(), $${i * 2 + 1}, $${i * 2 + 2}, now(), 'bench', '${state}', ${transitions ? "NULL" : "now()"})`).join(",");
        const params = batch.flatMap((credential, i) => [`bench-${start + i}`, createHash("sha256").update(credential).digest("hex")]);
        await db.query(`INSERT INTO servers (id, name, credential_hash, enrolled_at, created_by, connectivity, last_seen_at) VALUES ${values}`, params);
      }
      const fleet = startFleet(base, credentials);
      const clientTicks = () => cpuTicks(process.pid) + fleet.workers.reduce((sum, w) => sum + cpuTicks(w.pid!), 0);
      await sleep(warmupSeconds * 1000); // every agent has polled and beaten at least once
      const cpuStart = { server: cpuTicks(server.pid!), postgres: postgresTicks(postmaster), client: clientTicks(), waited: runQueueNs(server.pid!) };
      const loadStart = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
      const wallStart = Date.now();
      fleet.send({ type: "measure", on: true });
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.pid!))), 500);
      await sleep(seconds * 1000);
      fleet.send({ type: "measure", on: false });
      clearInterval(sampler);
      const wall = (Date.now() - wallStart) / 1000;
      const share = (ticks: number) => `${((ticks / 100 / wall) * 100).toFixed(0)}%`;
      const serverTicks = cpuTicks(server.pid!) - cpuStart.server;
      const cpu = {
        server: share(serverTicks),
        postgres: share(postgresTicks(postmaster) - cpuStart.postgres),
        client: share(clientTicks() - cpuStart.client),
      };
      const waited = `${(((runQueueNs(server.pid!) - cpuStart.waited) / 1e9 / wall) * 100).toFixed(0)}%`;
      const load = `${loadStart}→${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`;
      const reports = await fleet.ask();
      const sorted = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
      // Contention-proof cost: control-plane CPU per heartbeat (its share of long-poll answers and the offline sweep included).
      const perBeat = `${((serverTicks * 10) / Math.max(1, sorted.length)).toFixed(2)} ms`;
      const errors = reports.reduce((sum, r) => sum + r.heartbeatErrors, 0);
      const pollErrors = reports.reduce((sum, r) => sum + r.pollErrors, 0);
      const kinds: Record<string, number> = {};
      for (const r of reports) for (const [k, v] of Object.entries(r.errorKinds)) kinds[k] = (kinds[k] ?? 0) + v;
      if (Object.keys(kinds).length) process.stdout.write(`errors since start, by kind: ${JSON.stringify(kinds)}\n`);

      // Desired-state propagation: every server's generation bumped in one transaction.
      let polling = 0;
      for (let i = 0; i < 20; i++) {
        polling = (await fleet.ask()).reduce((sum, r) => sum + r.polling, 0);
        if (polling >= n) break;
        await sleep(250);
      }
      fleet.send({ type: "expect", generation: 2 });
      await sleep(200);
      await db.query("BEGIN");
      await db.query(
        "WITH bumped AS (UPDATE servers SET generation = generation + 1 RETURNING id, generation) SELECT pg_notify('berth_generation', id::text || ':' || generation) FROM bumped",
      );
      const committing = now();
      await db.query("COMMIT");
      const committed = now() - committing;
      let arrivals: number[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        await sleep(250);
        arrivals = (await fleet.ask()).flatMap((r) => r.arrivals);
        if (arrivals.every((a) => !Number.isNaN(a))) break;
      }
      const delays = arrivals.filter((a) => !Number.isNaN(a)).map((a) => a - committing).sort((a, b) => a - b);
      const missing = n - delays.length;
      await fleet.stop();

      const p99 = percentile(sorted, 99);
      rows.push(
        `${String(n).padStart(6)} agents  heartbeats ${String(sorted.length).padStart(6)} (${(sorted.length / seconds).toFixed(0)}/s)  p50 ${percentile(sorted, 50).toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  errors ${errors} (long-poll ${pollErrors})  CPU: control plane ${cpu.server} (${perBeat} per heartbeat), PostgreSQL ${cpu.postgres}, client ${cpu.client} of a core; control plane waited for a CPU ${waited} of the time, load average ${load}  RSS peak ${peakRss.toFixed(0)} MiB  propagation (${polling}/${n} polling, commit ${committed.toFixed(0)} ms) p50 ${percentile(delays, 50).toFixed(0)} ms p99 ${percentile(delays, 99).toFixed(0)} ms max ${(delays.at(-1) ?? NaN).toFixed(0)} ms${missing ? `, ${missing} never answered` : ""}${p99 < 250 ? "" : "  (over 250 ms)"}`,
      );
      table.push(
        `| ${n} | ${(sorted.length / seconds).toFixed(0)} | ${percentile(sorted, 50).toFixed(1)} ms | ${p99.toFixed(1)} ms | ${errors} | ${cpu.server} (${perBeat}/beat) | ${cpu.postgres} | ${cpu.client} | ${waited} | ${load} | ${peakRss.toFixed(0)} MiB | ${percentile(delays, 50).toFixed(0)} / ${percentile(delays, 99).toFixed(0)} / ${(delays.at(-1) ?? NaN).toFixed(0)} ms${missing ? ` (${missing} missing)` : ""} |`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
      await sleep(3000);
    }
    process.stdout.write(
      `\nbench/fleet, ${new Date().toISOString()}, control plane from ${root}${liveInventory ? ", live inventories" : ""}, ${seconds} s measured per step after ${warmupSeconds} s warm-up, agents simulated in ${workerCount} client processes on the same machine\n${rows.join("\n")}\n\n` +
        `| agents | heartbeats/s | p50 | p99 | errors | control-plane CPU | PostgreSQL CPU | client CPU | control plane waiting for a CPU | load average | control-plane RSS peak | propagation p50 / p99 / max |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n${table.join("\n")}\n`,
    );
  } finally {
    await db.end();
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
