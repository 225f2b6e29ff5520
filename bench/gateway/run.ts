/**
 * bench/gateway: what the inference gateway adds to a request.
 *
 * Starts a real Berth control plane (server/main.ts, embedded PostgreSQL) and
 * a V2 upstream (bench/gateway/upstream.ts in its own process, or any V2
 * runtime with --upstream URL, e.g. the ONNX iris runtime), registers a
 * deployment whose one READY replica is that upstream, then in the same run:
 *   1. N sequential requests straight to the upstream and through the
 *      gateway (alternating blocks): latency p50/p99 of each, and the
 *      difference (what the gateway adds);
 *   2. the same with C requests in flight: throughput of each and the ratio;
 * and samples the control plane's resident memory every 20 ms.
 * The same measurements through a bare Node proxy (bench/gateway/bare-proxy.ts:
 * node:http + undici, nothing else) give the floor any Node gateway pays here.
 * It also measures one uncached routing read through Prisma and through pg.
 *
 *   npm run build && node --import tsx bench/gateway/run.ts [--requests 5000] [--concurrency 16] [--upstream http://127.0.0.1:PORT --model iris]
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { Pool } from "undici";
import { freePort, rssKiB } from "../common";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const requests = Number(option("requests", "5000"));
const concurrency = Number(option("concurrency", "16"));
const model = option("model", "iris");
const externalUpstream = args.includes("--upstream") ? option("upstream", "") : null;
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join("/var/tmp", "berth-bench-gateway-"));
chmodSync(work, 0o711);
const BODY = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });

function waitFor(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (c: Buffer) => ((seen += c), seen.includes(text) ? resolve() : undefined));
    child.on("exit", (code) => reject(new Error(`${child.spawnfile} exited ${code}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function one(pool: Pool, urlPath: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const { statusCode, body } = await pool.request({ method: "POST", path: urlPath, headers, body: BODY });
  await body.text();
  if (statusCode !== 200) throw new Error(`${urlPath} answered ${statusCode}`);
  return performance.now() - started;
}

async function sequential(pool: Pool, urlPath: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) latencies.push(await one(pool, urlPath, headers));
  return latencies;
}

async function concurrent(pool: Pool, urlPath: string, headers: Record<string, string>, n: number, c: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next++ < n) await one(pool, urlPath, headers);
    }),
  );
  return n / ((performance.now() - started) / 1000);
}

async function main() {
  const port = await freePort();
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  const children: ChildProcess[] = [];
  const server = spawn(process.execPath, [...(process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), "--import", "tsx", "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(server);
  let upstreamUrl = externalUpstream;
  if (!upstreamUrl) {
    const upstreamPort = await freePort();
    const upstream = spawn(process.execPath, ["--import", "tsx", "bench/gateway/upstream.ts", String(upstreamPort)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    children.push(upstream);
    await waitFor(upstream, "ready");
    upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  }
  try {
    await waitFor(server, "Berth is running");
    const token = execFileSync(process.execPath, ["bin/berth.mjs", "admin", "create-token", "--name", "bench", "--role", "VIEWER", "--infer"], { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const password = readFileSync(path.join(dataDir, "secrets", "postgres-password"), "utf8").trim();
    const pgPort = readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n")[3]!.trim();
    process.env.DATABASE_URL = `postgresql://berth:${password}@127.0.0.1:${pgPort}/berth`;
    const { seedDeployment } = await import("../../test/gateway-fixtures");
    const { addReplica } = await seedDeployment({ name: "bench", model });
    await addReplica({ endpoint: upstreamUrl });

    // One uncached routing read, CPU per query in this process: the same read through
    // Prisma's client engine, and through pg as lib/gateway/routing.ts does it.
    const { readDeploymentRoutes } = await import("../../lib/gateway/routing");
    const { getDb } = await import("../../lib/db/client");
    const prismaRead = () =>
      getDb().deployment.findUnique({
        where: { name: "bench" },
        select: {
          id: true,
          name: true,
          desiredState: true,
          runtime: { select: { protocol: true } },
          modelVersion: { select: { model: { select: { name: true } } } },
          replicaRows: { where: { desired: true, phase: "READY", endpoint: { not: null } }, select: { id: true, endpoint: true }, orderBy: { id: "asc" } },
        },
      });
    const cpuPer = async (fn: () => Promise<unknown>, n = 300) => {
      for (let i = 0; i < 30; i++) await fn();
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) await fn();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / n;
    };
    const prismaMs = await cpuPer(prismaRead);
    const pgMs = await cpuPer(() => readDeploymentRoutes("bench"));

    const gatewayPath = `/api/v1/infer/bench/v2/models/${model}/infer`;
    const directPath = `/v2/models/${model}/infer`;
    const gatewayHeaders = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const directHeaders = { "content-type": "application/json" };
    const gateway = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency, keepAliveTimeout: 60_000 });
    const direct = new Pool(upstreamUrl, { connections: concurrency, keepAliveTimeout: 60_000 });
    const barePort = await freePort();
    const bareProcess = spawn(process.execPath, ["--import", "tsx", "bench/gateway/bare-proxy.ts", String(barePort), upstreamUrl], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    children.push(bareProcess);
    await waitFor(bareProcess, "ready");
    const bare = new Pool(`http://127.0.0.1:${barePort}`, { connections: concurrency, keepAliveTimeout: 60_000 });

    // Warm-up: JIT, pools, the routing and token caches.
    await sequential(direct, directPath, directHeaders, 500);
    await sequential(gateway, gatewayPath, gatewayHeaders, 500);
    await sequential(bare, gatewayPath, directHeaders, 500);

    const rssBefore = rssKiB(server.pid!);
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.pid!))), 20);
    const directLat: number[] = [];
    const gatewayLat: number[] = [];
    const bareLat: number[] = [];
    const block = Math.max(100, Math.floor(requests / 10));
    for (let done = 0; done < requests; done += block) {
      directLat.push(...(await sequential(direct, directPath, directHeaders, block)));
      gatewayLat.push(...(await sequential(gateway, gatewayPath, gatewayHeaders, block)));
      bareLat.push(...(await sequential(bare, gatewayPath, directHeaders, block)));
    }
    let directRate = 0;
    let gatewayRate = 0;
    let serverCpu = 0;
    let bareRate = 0;
    let bareCpu = 0;
    for (let round = 0; round < 3; round++) {
      directRate = Math.max(directRate, await concurrent(direct, directPath, directHeaders, requests, concurrency));
      const cpuBefore = cpuSeconds(server.pid!);
      gatewayRate = Math.max(gatewayRate, await concurrent(gateway, gatewayPath, gatewayHeaders, requests, concurrency));
      serverCpu += cpuSeconds(server.pid!) - cpuBefore;
      const bareBefore = cpuSeconds(bareProcess.pid!);
      bareRate = Math.max(bareRate, await concurrent(bare, gatewayPath, directHeaders, requests, concurrency));
      bareCpu += cpuSeconds(bareProcess.pid!) - bareBefore;
    }
    clearInterval(sampler);
    peak = Math.max(peak, rssKiB(server.pid!));
    await Promise.all([gateway.close(), direct.close(), bare.close()]);

    directLat.sort((x, y) => x - y);
    gatewayLat.sort((x, y) => x - y);
    bareLat.sort((x, y) => x - y);
    const row = (q: number) => {
      const d = quantile(directLat, q);
      const g = quantile(gatewayLat, q);
      const b = quantile(bareLat, q);
      return `p${Math.round(q * 100)}: direct ${d.toFixed(3)} ms, gateway ${g.toFixed(3)} ms, added ${(g - d).toFixed(3)} ms | bare proxy ${b.toFixed(3)} ms, added ${(b - d).toFixed(3)} ms`;
    };
    const report = [
      `bench/gateway ${new Date().toISOString()}: ${requests} requests, upstream ${externalUpstream ?? "bench/gateway/upstream.ts (fixed JSON)"}`,
      `sequential  ${row(0.5)}`,
      `sequential  ${row(0.99)}`,
      `concurrent (${concurrency} in flight, best of 3): direct ${directRate.toFixed(0)} req/s, gateway ${gatewayRate.toFixed(0)} req/s, ratio ${(gatewayRate / directRate).toFixed(2)} | bare proxy ${bareRate.toFixed(0)} req/s, ratio ${(bareRate / directRate).toFixed(2)}`,
      `CPU per request (concurrent phase): control plane ${((serverCpu / (3 * requests)) * 1000).toFixed(3)} ms, bare proxy ${((bareCpu / (3 * requests)) * 1000).toFixed(3)} ms`,
      `control plane RSS: ${(rssBefore / 1024).toFixed(0)} MiB before, ${(peak / 1024).toFixed(0)} MiB peak`,
      `machine load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (2 cores; other work on the machine skews every figure)`,
      `one uncached routing read, CPU in the caller: Prisma ${prismaMs.toFixed(2)} ms, pg ${pgMs.toFixed(2)} ms`,
    ];
    process.stdout.write(`${report.join("\n")}\n`);
    const { disconnectDb } = await import("../../lib/db/client");
    await disconnectDb();
  } finally {
    for (const child of children.reverse()) {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(null)));
    }
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
