/**
 * bench/deploy: time from "create deployment" to the first successful
 * inference through Berth, against the limit on the same machine in the same
 * run: `docker run` of the same image with the same model, polling readiness
 * by hand, then one inference straight at the container.
 *
 * Image and artifact are cached first (one warm-up deployment), as the issue
 * asks: image pull / load is excluded on both sides.
 *
 *   npm run build && node --import tsx bench/deploy/run.ts [--runs 20]
 *
 * Needs a running Docker Engine (bash scripts/provision.sh docker) and root or
 * docker-group access.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { Agent, request } from "undici";
import { freePort, rssKiB } from "../common";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const runs = Number(option("runs", "20"));
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join("/var/tmp", "berth-bench-deploy-"));
chmodSync(work, 0o711);
const samples = path.join(root, "samples/iris");
const expected = JSON.parse(readFileSync(path.join(samples, "expected.json"), "utf8")) as { inputs: number[][]; v1: { outputs: { label: number }[] } };
const inferBody = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: expected.inputs[0] }] });

/**
 * The pollers of both sides (through Berth, and straight at the bare
 * container) share one keep-alive client. undici's `request` rather than
 * `fetch`: measured here at 0.86 against 2.34 ms of CPU per poll (client and
 * server in one process), CPU the container being started competes for on
 * two cores while the Berth side polls through its start.
 */
const pollClient = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 1000 } });
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function waitForLine(child: ChildProcess, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}) before "${text}":\n${seen.slice(-2000)}`)));
  });
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn", BERTH_DRAIN_SECONDS: "0" };
  delete env.DATABASE_URL;
  const server = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  let agent: ChildProcess | undefined;
  const docker = new Docker();
  try {
    await waitForLine(server, "Berth is running", "control plane");
    const token = await new Promise<string>((resolve, reject) => {
      const cli = spawn(process.execPath, ["bin/berth.mjs", "admin", "create-token", "--name", "bench-deploy", "--role", "ADMIN"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      cli.stdout!.on("data", (c: Buffer) => (out += c.toString()));
      cli.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`create-token exited ${code}`))));
    });
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const call = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`${base}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    };
    await call("POST", "/api/v1/models", { name: "bench-iris" });
    const upload = await fetch(`${base}/api/v1/models/bench-iris/versions?format=onnx`, {
      method: "POST",
      headers: { authorization: headers.authorization, "content-type": "application/octet-stream" },
      body: readFileSync(path.join(samples, "iris-v1.onnx")),
    });
    if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
    const { secret: inferToken } = (await call("POST", "/api/v1/tokens", { name: "bench-infer", role: "VIEWER", canInfer: true })) as { secret: string };
    const { enrolmentToken } = (await call("POST", "/api/v1/servers", { name: "bench-host" })) as { enrolmentToken: string };
    agent = spawn(process.execPath, ["bin/berth.mjs", "agent", "--url", base, "--token", enrolmentToken, "--state-dir", path.join(work, "agent"), "--advertise-address", "127.0.0.1"], {
      cwd: root,
      env: { ...env, BERTH_TOKEN: "", BERTH_URL: "" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await waitForLine(agent, "connected", "agent");

    const inferThroughBerth = async (name: string) => {
      const response = await request(`${base}/api/v1/infer/${name}/v2/models/bench-iris/infer`, {
        method: "POST",
        headers: { authorization: `Bearer ${inferToken}`, "content-type": "application/json" },
        body: inferBody,
        dispatcher: pollClient,
      });
      const body = (await response.body.json().catch(() => null)) as { outputs?: { name: string; data: number[] }[] } | null;
      return response.statusCode === 200 && body?.outputs?.find((o) => o.name === "label")?.data[0] === expected.v1.outputs[0]!.label;
    };
    const createMs: number[] = [];
    const deployOnce = async (name: string) => {
      const started = performance.now();
      await call("POST", "/api/v1/deployments", { name, model: "bench-iris@1", servers: ["bench-host"] });
      createMs.push(performance.now() - started);
      while (!(await inferThroughBerth(name))) {
        if (performance.now() - started > 120_000) throw new Error(`${name}: no successful inference within 120 s`);
        await sleep(20);
      }
      const elapsed = performance.now() - started;
      await call("DELETE", `/api/v1/deployments/${name}`);
      for (;;) {
        const response = await fetch(`${base}/api/v1/deployments/${name}`, { headers });
        if (response.status === 404) break;
        await sleep(50);
      }
      return elapsed;
    };

    process.stderr.write("warm-up (loads the runtime image, caches the artifact)…\n");
    const warm = await deployOnce("bench-warm");
    process.stderr.write(`warm-up: ${(warm / 1000).toFixed(1)} s\n`);

    const { runtimes } = (await call("GET", "/api/v1/runtimes")) as { runtimes: { name: string; image: string }[] };
    const image = runtimes.find((r) => r.name === "onnx")!.image;
    const artifact = readdirArtifact(path.join(work, "agent"));

    const berth: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) {
      berth.push(await deployOnce(`bench-${i}`));
      bare.push(await dockerRunOnce(docker, image, artifact));
      process.stderr.write(`run ${i + 1}/${runs}: berth ${berth.at(-1)!.toFixed(0)} ms, docker run ${bare.at(-1)!.toFixed(0)} ms\n`);
    }
    const sortedBerth = [...berth].sort((a, b) => a - b);
    const sortedBare = [...bare].sort((a, b) => a - b);
    const row = (label: string, sorted: number[]) => `| ${label} | ${percentile(sorted, 50).toFixed(0)} ms | ${percentile(sorted, 95).toFixed(0)} ms | ${sorted.at(-1)!.toFixed(0)} ms |`;
    process.stdout.write(
      [
        `bench/deploy: ${runs} deployments, image and artifact cached`,
        "",
        "| create → first successful inference | p50 | p95 | max |",
        "| --- | --- | --- | --- |",
        row("through Berth (API create, agent, gateway)", sortedBerth),
        row("limit: docker run + readiness poll + direct inference", sortedBare),
        "",
        `ratio p50 ${(percentile(sortedBerth, 50) / percentile(sortedBare, 50)).toFixed(2)}, p95 ${(percentile(sortedBerth, 95) / percentile(sortedBare, 95)).toFixed(2)} (target ≤ 1.3; p95 target < 3000 ms)`,
        `of which the create request itself: p50 ${percentile([...createMs].sort((a, b) => a - b), 50).toFixed(0)} ms`,
        `control plane peak RSS ${(rssKiB(server.pid!) / 1024).toFixed(0)} MiB (now), agent ${(rssKiB(agent.pid!) / 1024).toFixed(0)} MiB`,
        "",
      ].join("\n"),
    );
  } finally {
    await pollClient.close();
    agent?.kill("SIGTERM");
    server.kill("SIGTERM");
    await sleep(1500);
  }
}

/** The artifact the agent cached during the warm-up: the limit mounts the very same file. */
function readdirArtifact(agentDir: string): string {
  const dir = path.join(agentDir, "cache", "artifacts");
  const file = readdirSync(dir).find((name) => /^[0-9a-f]{64}$/.test(name));
  if (!file) throw new Error(`no cached artifact in ${dir}`);
  return path.join(dir, file);
}

/** The limit: what an operator would do by hand with the same image and model. */
async function dockerRunOnce(docker: Docker, image: string, artifact: string): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: image,
    Env: ["BERTH_MODEL_PATH=/models/model.onnx", "BERTH_MODEL_NAME=bench-iris", "PORT=8080"],
    ExposedPorts: { "8080/tcp": {} },
    Labels: { "io.berth.bench": "deploy" },
    HostConfig: { Binds: [`${artifact}:/models/model.onnx:ro`], PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const hostPort = info.NetworkSettings.Ports["8080/tcp"]![0]!.HostPort;
    for (;;) {
      const ok = await request(`http://127.0.0.1:${hostPort}/v2/models/bench-iris/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: inferBody,
        dispatcher: pollClient,
        signal: AbortSignal.timeout(1000),
      })
        .then(async (r) => {
          const body = (await r.body.json().catch(() => null)) as { outputs?: { name: string; data: number[] }[] } | null;
          return r.statusCode === 200 && body?.outputs?.find((o) => o.name === "label")?.data[0] === expected.v1.outputs[0]!.label;
        })
        .catch(() => false);
      if (ok) break;
      if (performance.now() - started > 60_000) throw new Error("docker run: no answer within 60 s");
      await sleep(20);
    }
    return performance.now() - started;
  } finally {
    await container.remove({ force: true });
  }
}

await main();
