/**
 * bench/runtime: the built-in ONNX runtime's image and inference figures.
 *
 * In one run: builds the image archive cold (a throw-away cache folder), loads
 * it into the Docker Engine, starts a container with the iris sample, and
 * measures 1-row inference latency (sequential) and throughput (concurrent)
 * against the limit on the same machine: a bare node:http server answering
 * the same bytes with no parsing and no ONNX Runtime. Also the same server on
 * the host with no Docker, and the container's memory.
 *
 *   node --import tsx bench/runtime/run.ts [--requests 2000] [--seconds 5] [--concurrency 8]
 *
 * Needs a running Docker Engine. Removes what it made: the container (label
 * io.berth.test=runtime), its berth-test/ tag, and the real tag if it loaded it.
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { buildOnnxRuntimeImageArchive, imageExists, loadImageArchive } from "../../runtimes/onnx/image";
import { IRIS_V1, startServer, waitReady } from "../../runtimes/onnx/test-support";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const REQUESTS = option("requests", 2000);
const SECONDS = option("seconds", 5);
const CONCURRENCY = option("concurrency", 8);
const out = (line: string) => process.stdout.write(`${line}\n`);
const ONE = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v2/models/iris/infer`, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(ONE) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(ONE);
  });
}

async function measure(name: string, url: string) {
  for (let i = 0; i < 200; i++) await post(url); // warm-up
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    if ((await post(url)) !== 200) throw new Error(`${name}: not 200`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(times.length * q))]!.toFixed(2);
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await post(url);
        done++;
      }
    }),
  );
  out(`| ${name} | ${pct(0.5)} | ${pct(0.9)} | ${pct(0.99)} | ${Math.round(done / SECONDS)} |`);
}

async function main() {
  const docker = new Dockerode();
  await docker.ping();
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "berth-bench-runtime-"));
  const testTag = `berth-test/onnx-runtime:bench-${process.pid}`;
  let container: Dockerode.Container | null = null;
  let createdRealTag = false;
  let tag = "";
  const host = await startServer({ BERTH_MODEL_PATH: IRIS_V1, BERTH_MODEL_NAME: "iris" });
  const response = Buffer.from(
    '{"model_name":"iris","outputs":[{"name":"label","datatype":"INT64","shape":[1],"data":[0]},{"name":"probabilities","datatype":"FP32","shape":[1,3],"data":[0.9952953457832336,0.004704680293798447,2.4401409781660277e-9]}]}',
  );
  const bare = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json", "content-length": response.length }).end(response));
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
  try {
    let t = performance.now();
    const archive = await buildOnnxRuntimeImageArchive({ cacheDir });
    out(`archive: ${(archive.sizeBytes / 1e6).toFixed(1)} MB, cold build ${Math.round(performance.now() - t)} ms (${archive.tag})`);
    tag = archive.tag;
    createdRealTag = !(await imageExists(docker, tag));
    t = performance.now();
    await loadImageArchive(docker, createReadStream(archive.path));
    out(`docker load: ${Math.round(performance.now() - t)} ms${createdRealTag ? "" : " (the tag was already there)"}`);
    const [repo, name] = testTag.split(":") as [string, string];
    await docker.getImage(tag).tag({ repo, tag: name });

    container = await docker.createContainer({
      Image: testTag,
      Labels: { "io.berth.test": "runtime" },
      Env: ["BERTH_MODEL_PATH=/models/iris-v1.onnx", "BERTH_MODEL_NAME=iris"],
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: { Binds: [`${IRIS_V1}:/models/iris-v1.onnx:ro`], PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] }, ReadonlyRootfs: true },
    });
    t = performance.now();
    await container.start();
    const info = await container.inspect();
    const published = `http://127.0.0.1:${info.NetworkSettings.Ports["8080/tcp"]![0]!.HostPort}`;
    await waitReady(published);
    const logs = (await container.logs({ stdout: true })).toString("utf8");
    const loadedAt = /\{"time":"([^"]+)","level":"info","msg":"model loaded"/.exec(logs)?.[1];
    out(`container: start() to ready polled from the host ${Math.round(performance.now() - t)} ms; StartedAt to "model loaded" ${Date.parse(loadedAt!) - Date.parse(info.State.StartedAt)} ms`);
    await waitReady(host.url);

    out(`\n1-row iris inference, ${REQUESTS} sequential requests (ms) and ${CONCURRENCY} concurrent for ${SECONDS} s (requests/s); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores\n`);
    out("| server | p50 | p90 | p99 | req/s |\n| --- | --- | --- | --- | --- |");
    await measure("limit: bare node:http, fixed answer, host", `http://127.0.0.1:${(bare.address() as { port: number }).port}`);
    await measure("runtime on the host (no Docker)", host.url);
    await measure("runtime in Docker, published port (docker-proxy)", published);
    const bridge = info.NetworkSettings.Networks.bridge?.IPAddress;
    if (bridge) await measure("runtime in Docker, bridge IP", `http://${bridge}:8080`);
    const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) >> 10;
    out(`\nresident memory after the run: the runtime in Docker ${rss(info.State.Pid)} MiB, on the host ${rss(host.child.pid!)} MiB`);
  } finally {
    agent.destroy();
    bare.close();
    await host.stop();
    if (container) await container.remove({ force: true }).catch(() => {});
    await docker.getImage(testTag).remove().catch(() => {});
    if (createdRealTag && tag) await docker.getImage(tag).remove().catch(() => {});
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

await main();
