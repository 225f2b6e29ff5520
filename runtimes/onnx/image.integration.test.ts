/**
 * The runtime image against a real Docker Engine: build the archive, load it,
 * run the iris sample in a container, infer, stop gracefully. Needs a running
 * engine (scripts/provision.sh docker). The engine is shared: everything made
 * here carries the label io.berth.test=runtime or the repository berth-test/,
 * and only that is removed.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOnnxRuntimeImageArchive, imageExists, ImageLoadError, loadImageArchive, ONNX_RUNTIME_USER, onnxRuntimeImageTag, type OnnxRuntimeImageArchive } from "./image";
import { IRIS_V1, REPO_ROOT, waitReady } from "./test-support";

const expected = JSON.parse(readFileSync(path.join(REPO_ROOT, "samples/iris/expected.json"), "utf8")) as {
  inputs: number[][];
  v1: { outputs: { label: number; probabilities: number[] }[] };
};
const TEST_LABEL = { "io.berth.test": "runtime" };
const TEST_TAG = `berth-test/onnx-runtime:it-${process.pid}-${Date.now().toString(36)}`;
const inferBody = JSON.stringify({ id: "it", inputs: [{ name: "input", datatype: "FP32", shape: [expected.inputs.length, 4], data: expected.inputs }] });
const figures: Record<string, string> = {};

describe("the ONNX runtime image in a real Docker Engine", () => {
  const docker = new Dockerode();
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "berth-runtime-images-"));
  const containers: Dockerode.Container[] = [];
  let archive: OnnxRuntimeImageArchive;
  let createdRealTag = false;

  beforeAll(async () => {
    await docker.ping(); // fails loudly when no engine runs: provision it (scripts/provision.sh docker)
  });

  afterAll(async () => {
    for (const container of containers) await container.remove({ force: true }).catch(() => {});
    await docker.getImage(TEST_TAG).remove().catch(() => {});
    if (createdRealTag) await docker.getImage(onnxRuntimeImageTag()).remove().catch(() => {});
    rmSync(cacheDir, { recursive: true, force: true });
    process.stdout.write(`[runtime image figures]\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}\n`).join("")}`);
  });

  it("builds the archive once, shared by concurrent callers, and reproducibly", async () => {
    const started = performance.now();
    const lines: string[] = [];
    const [a, b] = await Promise.all([buildOnnxRuntimeImageArchive({ cacheDir, log: (l) => lines.push(l) }), buildOnnxRuntimeImageArchive({ cacheDir })]);
    figures["archive build (cold)"] = `${Math.round(performance.now() - started)} ms`;
    figures["archive size"] = `${(a.sizeBytes / 1e6).toFixed(1)} MB (${a.sizeBytes} bytes)`;
    expect(b).toBe(a);
    expect(a.tag).toBe(onnxRuntimeImageTag());
    expect(a.tag).toMatch(/^berth\/onnx-runtime:\d+\.\d+\.\d+-ort\d+\.\d+\.\d+-node\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(a.sizeBytes).toBeGreaterThan(50e6);
    expect(a.sizeBytes).toBeLessThan(250e6);
    expect(lines.some((l) => l.includes("shared libraries"))).toBe(true);

    const again = performance.now();
    expect(await buildOnnxRuntimeImageArchive({ cacheDir })).toEqual(a);
    figures["archive build (cached)"] = `${Math.round(performance.now() - again)} ms`;

    // Reproducible: another build elsewhere gives the same bytes. A damaged cache entry is rebuilt.
    const other = mkdtempSync(path.join(os.tmpdir(), "berth-runtime-images-"));
    try {
      const second = await buildOnnxRuntimeImageArchive({ cacheDir: other });
      expect(second.sha256).toBe(a.sha256);
      truncateSync(second.path, 1000);
      expect((await buildOnnxRuntimeImageArchive({ cacheDir: other })).sha256).toBe(a.sha256);
      expect(readdirSync(other).sort()).toEqual([path.basename(second.path), `${path.basename(second.path)}.json`]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }

    // What the one layer holds: the runtime and this platform's binaries only.
    const outer = execFileSync("tar", ["-tf", a.path], { encoding: "utf8" }).trim().split("\n");
    const layerName = outer.find((n) => n.endsWith("/layer.tar"))!;
    expect(outer).toContain("manifest.json");
    const entries = execFileSync("sh", ["-c", 'tar -xOf "$1" "$2" | tar -t', "sh", a.path, layerName], { encoding: "utf8", maxBuffer: 1 << 24 }).split("\n");
    for (const needed of ["usr/local/bin/node", "app/server.mjs", "etc/passwd", `app/node_modules/onnxruntime-node/bin/napi-v6/linux/${process.arch}/libonnxruntime.so.1`, "app/node_modules/onnxruntime-common/package.json"]) {
      expect(entries).toContain(needed);
    }
    expect(entries.some((e) => /^lib64\/ld-linux|^lib\/.*ld-linux/.test(e))).toBe(true);
    expect(entries.filter((e) => /darwin|win32|\/arm64\/|cuda/.test(e) && !e.endsWith(".d.ts") && !e.endsWith(".map"))).toEqual([]);
    archive = a;
  }, 120_000);

  it("loads into the engine from a stream", async () => {
    createdRealTag = !(await imageExists(docker, archive.tag));
    const started = performance.now();
    await loadImageArchive(docker, createReadStream(archive.path));
    figures["docker load"] = `${Math.round(performance.now() - started)} ms`;
    expect(await imageExists(docker, archive.tag)).toBe(true);
    // Run under a throw-away tag; the real tag goes again if this test made it.
    const [repo, tag] = TEST_TAG.split(":") as [string, string];
    await docker.getImage(archive.tag).tag({ repo, tag });
    if (createdRealTag) {
      await docker.getImage(archive.tag).remove();
      createdRealTag = false;
    }
    const image = await docker.getImage(TEST_TAG).inspect();
    expect(image.Config.User).toBe(ONNX_RUNTIME_USER);
    expect(image.Config.Cmd).toEqual(["/usr/local/bin/node", "/app/server.mjs"]);
    expect(image.Config.Env).toContain("ORT_DISABLE_TELEMETRY=1");
    expect(Object.keys(image.Config.ExposedPorts ?? {})).toEqual(["8080/tcp"]);
    figures["image size (engine)"] = `${(image.Size / 1e6).toFixed(1)} MB`;
  }, 120_000);

  it("runs the iris model read-only as nobody, answers V2 inference, and stops gracefully", async () => {
    const container = await docker.createContainer({
      Image: TEST_TAG,
      name: `berth-test-runtime-${process.pid}`,
      Labels: TEST_LABEL,
      Env: ["BERTH_MODEL_PATH=/models/iris-v1.onnx", "BERTH_MODEL_NAME=iris", "PORT=8080"],
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: {
        Binds: [`${IRIS_V1}:/models/iris-v1.onnx:ro`],
        PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
        ReadonlyRootfs: true,
      },
    });
    containers.push(container);
    const started = performance.now();
    await container.start();
    const info = await container.inspect();
    const hostPort = info.NetworkSettings.Ports["8080/tcp"]![0]!.HostPort;
    const url = `http://127.0.0.1:${hostPort}`;
    await waitReady(url, 30_000);
    figures["container start() to /v2/health/ready 200, polled from the host"] = `${Math.round(performance.now() - started)} ms (create excluded; read-only root filesystem)`;

    const res = await fetch(`${url}/v2/models/iris/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: inferBody });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; outputs: { name: string; data: number[] }[] };
    expect(body.id).toBe("it");
    expect(body.outputs[0]!.data).toEqual(expected.v1.outputs.map((o) => o.label));
    expected.v1.outputs.flatMap((o) => o.probabilities).forEach((p, i) => expect(body.outputs[1]!.data[i]).toBeCloseTo(p, 6));

    const logged = (await container.logs({ stdout: true, stderr: true })).toString("utf8");
    const loadedAt = /\{"time":"([^"]+)","level":"info","msg":"model loaded"/.exec(logged)?.[1];
    figures["container StartedAt to 'model loaded' (its own log)"] = `${Date.parse(loadedAt!) - Date.parse(info.State.StartedAt)} ms`;

    figures["inference latency via docker-proxy (127.0.0.1 published port)"] = await latency(url);
    const bridgeIp = info.NetworkSettings.Networks.bridge?.IPAddress;
    if (bridgeIp) figures["inference latency to the container's bridge IP (no proxy)"] = await latency(`http://${bridgeIp}:8080`);

    const uid = await execNode(container, "process.stdout.write(String(process.getuid()))");
    expect(uid).toBe("65534");

    const stopping = performance.now();
    await container.stop({ t: 15 });
    figures["docker stop (SIGTERM to exit)"] = `${Math.round(performance.now() - stopping)} ms`;
    const stopped = await container.inspect();
    expect(stopped.State.ExitCode).toBe(0);
    const logs = (await container.logs({ stdout: true, stderr: true })).toString("utf8");
    expect(logs).toMatch(/"msg":"model loaded"/);
    expect(logs).toMatch(/"msg":"stopped"/);
  }, 120_000);

  it("works with no network at all (--network none), checked from inside the container", async () => {
    const container = await docker.createContainer({
      Image: TEST_TAG,
      name: `berth-test-runtime-nonet-${process.pid}`,
      Labels: TEST_LABEL,
      Env: ["BERTH_MODEL_PATH=/models/iris-v1.onnx", "BERTH_MODEL_NAME=iris"],
      HostConfig: { Binds: [`${IRIS_V1}:/models/iris-v1.onnx:ro`], NetworkMode: "none" },
    });
    containers.push(container);
    await container.start();
    const script = `
      const body = ${JSON.stringify(inferBody)};
      for (let i = 0; ; i++) {
        const ready = await fetch("http://127.0.0.1:8080/v2/health/ready").then((r) => r.status, () => 0);
        if (ready === 200) break;
        if (i > 200) throw new Error("not ready");
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await fetch("http://127.0.0.1:8080/v2/models/iris/infer", { method: "POST", body });
      process.stdout.write(JSON.stringify((await res.json()).outputs[0].data));`;
    expect(JSON.parse(await execNode(container, script))).toEqual(expected.v1.outputs.map((o) => o.label));
    await container.stop({ t: 15 });
    expect((await container.inspect()).State.ExitCode).toBe(0);
  }, 120_000);

  it("reports a broken archive and a failing stream as errors, and a missing image as absent", async () => {
    await expect(loadImageArchive(docker, Readable.from([Buffer.from("this is not a tar archive")]))).rejects.toThrow(ImageLoadError);

    const failing = new Readable({ read() {} });
    const source = createReadStream(archive.path, { end: 4 * 1024 * 1024 - 1 });
    source.on("data", (chunk) => failing.push(chunk));
    source.on("end", () => failing.destroy(new Error("connection reset by the control plane")));
    await expect(loadImageArchive(docker, failing)).rejects.toThrow(/the image archive stream failed: connection reset by the control plane/);

    expect(await imageExists(docker, "berth-test/onnx-runtime:does-not-exist")).toBe(false);
  }, 60_000);
});

/** Sequential 1-row inference on one keep-alive connection: 300 requests, the first 50 warm up. */
async function latency(url: string): Promise<string> {
  const one = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: expected.inputs[0] }] });
  const times: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    const r = await fetch(`${url}/v2/models/iris/infer`, { method: "POST", body: one });
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    if (i >= 50) times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!.toFixed(2);
  return `p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms (250 sequential 1-row requests)`;
}

/** Runs `node -e script` (ES module input) inside the container and returns its stdout; throws on a non-zero exit. */
async function execNode(container: Dockerode.Container, script: string): Promise<string> {
  const exec = await container.exec({ Cmd: ["/usr/local/bin/node", "--input-type=module", "-e", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const { PassThrough } = await import("node:stream");
  const out = new PassThrough();
  const err = new PassThrough();
  out.on("data", (c: Buffer) => stdout.push(c));
  err.on("data", (c: Buffer) => stderr.push(c));
  container.modem.demuxStream(stream, out, err);
  await new Promise((resolve) => stream.on("end", resolve));
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`exec exited ${ExitCode}: ${Buffer.concat(stderr).toString()}`);
  return Buffer.concat(stdout).toString();
}
