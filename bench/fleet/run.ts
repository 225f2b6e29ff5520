/**
 * bench/fleet: how many agents one control-plane process carries.
 *
 * For each N it registers N enrolled servers (straight into the database:
 * enrolment is not what is measured), then runs N light agents speaking the
 * real protocol from this process: each holds a desired-state long-poll open
 * and sends a heartbeat (with a realistic inventory) every 10 s, spread evenly.
 * After a warm-up it measures heartbeat latency (p50, p99) for one minute, and
 * the control plane's CPU (share of one core) and resident memory.
 *
 *   npm run build && node --import tsx bench/fleet/run.ts [--agents 1000,2500,5000,10000] [--seconds 60]
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { freePort, rssKiB } from "../common";
import pg from "pg";
import { Agent, request } from "undici";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const counts = option("agents", "1000,2500,5000,10000").split(",").map(Number);
const seconds = Number(option("seconds", "60"));
const root = path.resolve(import.meta.dirname, "../..");
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


function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
}

const rssMiB = (pid: number) => rssKiB(pid) / 1024;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function main() {
  const port = await freePort();
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn", BERTH_DB_POOL_SIZE: "20" };
  delete env.DATABASE_URL;
  const server = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    server.stdout!.on("data", (c: Buffer) => ((seen += c), seen.includes("Berth is running") ? resolve() : undefined));
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  const password = readFileSync(path.join(dataDir, "secrets", "postgres-password"), "utf8").trim();
  const pgPort = readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[3]!.trim();
  const db = new pg.Client({ connectionString: `postgresql://berth:${password}@127.0.0.1:${pgPort}/berth` });
  await db.connect();
  const base = `http://127.0.0.1:${port}`;
  const dispatcher = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 120_000, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const rows: string[] = [];
  try {
    for (const n of counts) {
      await db.query("DELETE FROM servers");
      const credentials: string[] = [];
      for (let start = 0; start < n; start += 1000) {
        const batch = Array.from({ length: Math.min(1000, n - start) }, () => `berth_agent_${randomBytes(32).toString("base64url")}`);
        credentials.push(...batch);
        const values = batch.map((_, i) => `(gen_random_uuid(), $${i * 2 + 1}, $${i * 2 + 2}, now(), 'bench', 'NEVER_SEEN')`).join(",");
        const params = batch.flatMap((credential, i) => [`bench-${start + i}`, createHash("sha256").update(credential).digest("hex")]);
        await db.query(`INSERT INTO servers (id, name, credential_hash, enrolled_at, created_by, connectivity) VALUES ${values}`, params);
      }
      const latencies: number[] = [];
      let errors = 0;
      let measuring = false;
      const stop = new AbortController();
      const heartbeat = async (credential: string) => {
        const started = performance.now();
        try {
          const res = await request(`${base}/api/v1/agent/heartbeat`, {
            dispatcher,
            method: "POST",
            headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
            body: JSON.stringify({ inventory, observedGeneration: 1 }),
          });
          await res.body.text();
          if (res.statusCode !== 200) errors++;
          else if (measuring) latencies.push(performance.now() - started);
        } catch {
          if (!stop.signal.aborted) errors++;
        }
      };
      const longPoll = async (credential: string) => {
        while (!stop.signal.aborted) {
          try {
            const res = await request(`${base}/api/v1/agent/desired-state?after=1&waitSeconds=55`, { dispatcher, headers: { authorization: `Bearer ${credential}` }, signal: stop.signal });
            await res.body.text();
          } catch {
            if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
          }
        }
      };
      credentials.forEach((credential) => void longPoll(credential));
      // Heartbeats every 10 s per agent, spread evenly over the interval.
      const timers = credentials.map((credential, i) =>
        setTimeout(() => {
          void heartbeat(credential);
          timers[i] = setInterval(() => void heartbeat(credential), 10_000) as unknown as NodeJS.Timeout;
        }, (i / n) * 10_000),
      );
      await new Promise((r) => setTimeout(r, 15_000)); // warm-up: every agent has polled and beaten once
      const cpuStart = cpuTicks(server.pid!);
      const wallStart = Date.now();
      measuring = true;
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(server.pid!))), 500);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      measuring = false;
      clearInterval(sampler);
      const cpuShare = (cpuTicks(server.pid!) - cpuStart) / 100 / ((Date.now() - wallStart) / 1000);
      stop.abort();
      timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
      const sorted = latencies.sort((a, b) => a - b);
      rows.push(
        `${String(n).padStart(6)} agents  heartbeats ${String(sorted.length).padStart(6)} (${(sorted.length / seconds).toFixed(0)}/s)  p50 ${percentile(sorted, 50).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms  errors ${errors}  control plane CPU ${(cpuShare * 100).toFixed(0)}% of a core  RSS peak ${peakRss.toFixed(0)} MiB${percentile(sorted, 99) < 250 ? "" : "  (over 250 ms)"}`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
      await new Promise((r) => setTimeout(r, 3000));
    }
    process.stdout.write(`\nbench/fleet, ${new Date().toISOString()}, ${seconds} s measured per step, agents simulated in one process on the same 2 cores\n${rows.join("\n")}\n`);
  } finally {
    await db.end();
    await dispatcher.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
