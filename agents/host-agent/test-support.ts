import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { ZStatusReport, type DesiredState, type StatusReport, type Workload } from "@/lib/protocol/agent";

/**
 * Test material for the agent's Docker tests (not shipped in the bundle):
 * a throw-away runtime image made offline as a `docker save` archive (the
 * host's node binary, the libraries `ldd` names, testdata/fake-runtime.mjs),
 * and a real HTTP server standing in for the control plane's agent
 * endpoints (artifacts with Range, runtime image archives, status reports).
 */
export const TEST_LABEL = "io.berth.test";
export const TEST_LABEL_VALUE = "agent-reconcile";
export const TEST_IMAGE_REPO = "berth-test/agent-runtime";

/**
 * Writes a `docker save`-format archive of the throw-away runtime image
 * (one layer: the host's node binary, the libraries `ldd` names, and
 * testdata/fake-runtime.mjs), as a control plane serves a built-in runtime,
 * without asking the Engine: the agent's `docker load` of it is under test.
 */
export function writeTestImageArchive(image: string, archive: string): number {
  const started = Date.now();
  const root = mkdtempSync(path.join(os.tmpdir(), "berth-agent-image-"));
  const bundle = mkdtempSync(path.join(os.tmpdir(), "berth-agent-archive-"));
  try {
    const node = execFileSync("sh", ["-c", 'readlink -f "$(command -v node)"']).toString().trim();
    const libs = execFileSync("ldd", [node])
      .toString()
      .split("\n")
      .map((line) => /(\/\S+)/.exec(line.includes("=>") ? (line.split("=>")[1] ?? "") : line)?.[1])
      .filter((p): p is string => Boolean(p));
    const put = (source: string, target: string) => {
      mkdirSync(path.join(root, path.dirname(target)), { recursive: true });
      copyFileSync(source, path.join(root, target));
    };
    put(node, "/node");
    for (const lib of libs) put(lib, lib);
    put(path.join(import.meta.dirname, "testdata/fake-runtime.mjs"), "/fake-runtime.mjs");
    mkdirSync(path.join(root, "tmp"), { recursive: true });
    mkdirSync(path.join(bundle, "layer"));
    execFileSync("tar", ["-C", root, "-cf", path.join(bundle, "layer", "layer.tar"), "."]);
    const diffId = createHash("sha256").update(readFileSync(path.join(bundle, "layer", "layer.tar"))).digest("hex");
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: new Date(0).toISOString(),
      config: { Entrypoint: ["/node", "/fake-runtime.mjs"], Labels: { [TEST_LABEL]: TEST_LABEL_VALUE } },
      rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
      history: [{ created: new Date(0).toISOString(), created_by: "berth agent tests" }],
    });
    const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
    writeFileSync(path.join(bundle, configName), config);
    writeFileSync(path.join(bundle, "manifest.json"), JSON.stringify([{ Config: configName, RepoTags: [image], Layers: ["layer/layer.tar"] }]));
    execFileSync("tar", ["-C", bundle, "-cf", archive, "manifest.json", configName, "layer"]);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  }
  return Date.now() - started;
}

/** Removes the containers and images this suite made, by label and repository, nothing else. */
export async function cleanUp(docker: Docker, runLabel: Record<string, string>, images: string[]) {
  const label = Object.entries(runLabel).map(([k, v]) => `${k}=${v}`);
  for (const c of await docker.listContainers({ all: true, filters: { label } })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  }
  for (const image of images) {
    if (!image.startsWith(`${TEST_IMAGE_REPO}:`)) continue;
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
  }
}

export type Artifact = { sha256: string; sizeBytes: number; file: string };

export function makeArtifact(dir: string, sizeBytes: number, seed = "x"): Artifact {
  const file = path.join(dir, `artifact-${seed}-${sizeBytes}.bin`);
  const out = Buffer.alloc(sizeBytes);
  let block = createHash("sha256").update(seed).digest();
  for (let offset = 0; offset < sizeBytes; offset += block.length) {
    block.copy(out, offset);
    block = createHash("sha256").update(block).digest();
  }
  writeFileSync(file, out);
  return { sha256: createHash("sha256").update(out).digest("hex"), sizeBytes, file };
}

/**
 * A real HTTP server speaking the agent side of the control plane's protocol.
 * `cutAfter` cuts the connection of the next artifact download after that
 * many body bytes; `wrongBytes` serves other bytes under a digest;
 * `stall` holds an artifact's body until released.
 */
export async function startFakeControlPlane(options: { credential: string; imageArchives?: Record<string, string>; serverId?: string }) {
  const artifacts = new Map<string, Artifact>();
  const reports: StatusReport[] = [];
  const requests: { path: string; range: string | null; auth: string | null }[] = [];
  const control = { cutAfter: null as number | null, wrongBytes: new Set<string>(), stalled: new Set<string>(), ignoreRange: false, statusFails: false, down: false };
  let desired: DesiredState = { generation: 0, workloads: [], drainSeconds: 0 };
  const heartbeats: (number | null)[] = [];
  const desiredWaiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const releases: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? "", range: req.headers.range ?? null, auth: req.headers.authorization ?? null });
    if (control.down) return void req.socket.destroy();
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const readBody = () =>
      new Promise<unknown>((resolve) => {
        let body = "";
        req.on("data", (chunk: Buffer) => (body += chunk.toString()));
        req.on("end", () => resolve(body ? JSON.parse(body) : null));
      });
    if (req.method === "POST" && req.url === "/api/v1/agent/enrol") {
      return void readBody().then(() => json(200, { serverId: options.serverId ?? "srv-1", serverName: "test-host", credential: options.credential, heartbeatIntervalSeconds: 1 }));
    }
    if (req.headers.authorization !== `Bearer ${options.credential}`) {
      res.writeHead(401, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: { code: "unauthorized", message: "bad credential" } }));
    }
    const url = new URL(req.url ?? "/", "http://x");
    const artifact = /^\/api\/v1\/agent\/artifacts\/([0-9a-f]{64})$/.exec(url.pathname);
    if (artifact) {
      const a = artifacts.get(artifact[1] ?? "");
      if (!a) return res.writeHead(404).end();
      const serve = () => {
        const size = statSync(a.file).size;
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
        const start = range && !control.ignoreRange ? Number(range[1]) : 0;
        if (start >= size && size > 0) return res.writeHead(416, { "content-range": `bytes */${size}` }).end();
        res.writeHead(start > 0 ? 206 : 200, {
          "content-length": String(size - start),
          ...(start > 0 ? { "content-range": `bytes ${start}-${size - 1}/${size}` } : {}),
        });
        const cut = control.cutAfter;
        control.cutAfter = null;
        const source = createReadStream(a.file, { start });
        if (control.wrongBytes.has(a.sha256)) {
          source.on("data", (chunk) => res.write(Buffer.from((chunk as Buffer).map((b) => b ^ 0xff))));
          source.on("end", () => res.end());
          return;
        }
        if (cut === null) return void source.pipe(res);
        let sent = 0;
        source.on("data", (chunk) => {
          const buffer = chunk as Buffer;
          const room = cut - sent;
          if (room <= 0) return;
          res.write(buffer.subarray(0, room), () => {
            if (sent >= cut) {
              source.destroy();
              req.socket.destroy(); // a real cut, mid-body
            }
          });
          sent += Math.min(room, buffer.length);
        });
      };
      if (control.stalled.has(a.sha256)) return void releases.push(serve);
      return serve();
    }
    const image = /^\/api\/v1\/agent\/runtime-images\/([^/]+)$/.exec(url.pathname);
    if (image) {
      const file = options.imageArchives?.[decodeURIComponent(image[1] ?? "")];
      if (!file) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/x-tar", "content-length": String(statSync(file).size) });
      return void createReadStream(file).pipe(res);
    }
    if (req.method === "POST" && url.pathname === "/api/v1/agent/heartbeat") {
      return void readBody().then((body) => {
        heartbeats.push((body as { observedGeneration: number | null }).observedGeneration);
        json(200, { serverName: "test-host", generation: desired.generation, heartbeatIntervalSeconds: 1, rotateCredential: false, adminState: "active" });
      });
    }
    if (req.method === "GET" && url.pathname === "/api/v1/agent/desired-state") {
      const after = url.searchParams.get("after");
      if (after === null || Number(after) < desired.generation) return json(200, desired);
      // The long-poll: answer when the generation moves on, or after a short wait.
      const answer = () => {
        clearTimeout(timer);
        desiredWaiters.delete(answer);
        if (!res.writableEnded && !res.destroyed) json(200, desired);
      };
      const timer = setTimeout(answer, 2000);
      desiredWaiters.add(answer);
      return;
    }
    if (req.method === "POST" && url.pathname === "/api/v1/agent/status") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        if (control.statusFails) return res.writeHead(503).end();
        const parsed = ZStatusReport.safeParse(JSON.parse(body));
        if (!parsed.success) {
          res.writeHead(400, { "content-type": "application/json" });
          return res.end(JSON.stringify({ error: { code: "invalid", message: parsed.error.message } }));
        }
        reports.push(parsed.data);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ accepted: parsed.data.replicas.length }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    artifacts,
    reports,
    requests,
    control,
    heartbeats,
    setDesired(next: DesiredState) {
      desired = next;
      for (const answer of [...desiredWaiters]) answer();
    },
    add(a: Artifact) {
      artifacts.set(a.sha256, a);
    },
    release() {
      for (const serve of releases.splice(0)) serve();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function workload(options: {
  artifact: Artifact;
  image: string;
  deploymentId?: string;
  replicaId?: string;
  deploymentName?: string;
  slot?: number;
  specHash?: string;
  generation?: number;
  env?: Record<string, string>;
  args?: string[];
  cpus?: number | null;
  memoryBytes?: number | null;
  runtimeName?: string;
}): Workload {
  return {
    replicaId: options.replicaId ?? randomUUID(),
    deploymentId: options.deploymentId ?? randomUUID(),
    deploymentName: options.deploymentName ?? "iris",
    slot: options.slot ?? 0,
    specHash: options.specHash ?? "spec-1",
    generation: options.generation ?? 1,
    modelName: "iris",
    artifact: { sha256: options.artifact.sha256, sizeBytes: options.artifact.sizeBytes, fileName: "model.onnx", format: "onnx", downloadPath: `/api/v1/agent/artifacts/${options.artifact.sha256}` },
    runtime: {
      name: options.runtimeName ?? "fake-runtime",
      image: options.image,
      source: "builtin",
      containerPort: 8080,
      readinessPath: "/v2/health/ready",
      protocol: "open_inference_v2",
      modelMountPath: "/models",
      args: options.args ?? [],
      env: { RUNTIME_ENV: "from-runtime" },
      registryAuth: null,
    },
    resources: { cpus: options.cpus ?? null, memoryBytes: options.memoryBytes ?? null, gpus: 0 },
    env: options.env ?? {},
  };
}
