/**
 * The built-in ONNX runtime's container image, made with no registry: a
 * `docker load`-able archive (the `docker save` format) of one layer holding
 * this host's own `node` binary, the shared libraries `ldd` names for it and
 * for ONNX Runtime's native files, the dynamic loader, the bundled server
 * (/app/server.mjs) and onnxruntime-node with only this platform's binaries.
 *
 * Imported by the control plane (which builds and serves the archive) and by
 * the agent (which loads it). No Next or Prisma imports. It reads its sibling
 * source files and the repository's package.json at run time, so it runs from
 * the source tree (tsx), not from a Next bundle.
 *
 * Needs on the building host: GNU tar (for --sort and --mtime, which make the
 * archive byte-for-byte reproducible) and ldd (glibc's libc-bin).
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, readdirSync, readFileSync, realpathSync } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const require = createRequire(import.meta.url);
const execFileAsync = promisify(execFile);

export const ONNX_RUNTIME_IMAGE_REPOSITORY = "berth/onnx-runtime";
/** The user the server runs as: nobody. The model is mounted read-only; nothing is written. */
export const ONNX_RUNTIME_USER = "65534:65534";
const NODE_IN_IMAGE = "/usr/local/bin/node";
const NAPI_BIN = `bin/napi-v6/${process.platform}/${process.arch}`;

/** The root folder of an installed package, found from a file `require.resolve` gives inside it. */
function packageRoot(name: string, from: NodeJS.Require): string {
  let dir = path.dirname(from.resolve(name));
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string }).name === name) return dir;
    } catch {
      // no package.json here
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package root of ${name}`);
    dir = parent;
  }
}

const readVersion = (dir: string) => (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;

/** The runtime's own source files: what goes into the bundle and the image's layout. Tests are left out. */
function runtimeSources(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "test-support.ts")
    .sort()
    .map((f) => path.join(here, f));
}

let cachedTag: string | null = null;

/**
 * The image's tag, computed without building: Berth's version, ONNX Runtime's,
 * Node's, and a hash of the runtime's source files (server, V2 handling and
 * this file, which decides the image's layout and config). Any change to what
 * the image holds changes the tag, so an agent with an older image loads anew.
 */
export function onnxRuntimeImageTag(): string {
  if (cachedTag) return cachedTag;
  const hash = createHash("sha256");
  for (const file of runtimeSources()) hash.update(`${path.basename(file)}\0`).update(readFileSync(file)).update("\0");
  const ort = readVersion(packageRoot("onnxruntime-node", require));
  cachedTag = `${ONNX_RUNTIME_IMAGE_REPOSITORY}:${readVersion(repoRoot)}-ort${ort}-node${process.versions.node}-${hash.digest("hex").slice(0, 12)}`;
  return cachedTag;
}

export type OnnxRuntimeImageArchive = { path: string; sha256: string; sizeBytes: number; tag: string };

/** The shared libraries `ldd` names for a binary (absolute paths, the loader included, vDSO left out). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileAsync("ldd", [binary]);
  const libraries: string[] = [];
  for (const line of stdout.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("linux-vdso") || trimmed.startsWith("linux-gate")) continue;
    if (trimmed.includes("=> not found")) throw new Error(`ldd ${binary}: ${trimmed}`);
    const match = /^(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)$/.exec(trimmed);
    if (!match) {
      if (trimmed.includes("statically linked")) continue;
      throw new Error(`ldd ${binary}: cannot read the line "${trimmed}"`);
    }
    libraries.push(match[1]!);
  }
  return libraries;
}

/** Counts and hashes what flows through. */
function digestTap() {
  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { tap, result: () => ({ sha256: hash.digest("hex"), bytes }) };
}

/** Runs GNU tar writing the archive to stdout, streamed through a digest into `file` (fsynced). */
async function tarTo(options: { cwd: string; entries: string[]; file: string; dereference: boolean }) {
  const args = ["--create", "--file=-", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--format=gnu"];
  if (options.dereference) args.push("--dereference");
  const child = spawn("tar", [...args, "--", ...options.entries], { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", (error) => reject(new Error(`cannot run tar (GNU tar is needed): ${error.message}`)));
    child.on("close", resolve);
  });
  const { tap, result } = digestTap();
  await pipeline(child.stdout, tap, createWriteStream(options.file, { mode: 0o644 }));
  const code = await exited;
  if (code !== 0) throw new Error(`tar exited ${code}: ${stderr.trim()}`);
  await fsync(options.file);
  return result();
}

/** fsync by path (Linux syncs the file's data whichever descriptor asks). */
async function fsync(file: string) {
  const handle = await open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Lays out the image's root filesystem as symlinks to this host's files (tar --dereference copies them). */
async function stageRootfs(rootfs: string, log: (line: string) => void) {
  const ortNode = realpathSync(packageRoot("onnxruntime-node", require));
  const ortCommon = realpathSync(packageRoot("onnxruntime-common", createRequire(path.join(ortNode, "package.json"))));
  const nativeDir = path.join(ortNode, NAPI_BIN);
  const binding = path.join(nativeDir, "onnxruntime_binding.node");
  const nodeBinary = realpathSync(process.execPath);

  const link = async (target: string, at: string) => {
    const dest = path.join(rootfs, at);
    await mkdir(path.dirname(dest), { recursive: true });
    await symlink(target, dest);
  };

  // The binding and the CPU library only: a site whose npm install fetched the CUDA or
  // TensorRT providers has them here too (hundreds of MB, needing libraries this image lacks).
  const nativeNames = (await readdir(nativeDir)).filter((f) => f === "onnxruntime_binding.node" || /^libonnxruntime\.so(\.\d+)*$/.test(f) || f === "libonnxruntime_providers_shared.so");
  const nativeFiles = nativeNames.map((f) => path.join(nativeDir, f));
  const libraries = new Set<string>();
  for (const binary of [nodeBinary, ...nativeFiles]) {
    for (const library of await sharedLibraries(binary)) {
      // ONNX Runtime's own libraries are found beside the binding ($ORIGIN) and are copied with it.
      if (!library.startsWith(`${nativeDir}${path.sep}`)) libraries.add(library);
    }
  }
  if (!nativeFiles.includes(binding)) throw new Error(`onnxruntime-node has no ${NAPI_BIN}/onnxruntime_binding.node for this platform`);
  log(`runtime image: node ${nodeBinary}, ${libraries.size} shared libraries (${[...libraries].map((l) => path.basename(l)).join(", ")})`);

  await link(nodeBinary, NODE_IN_IMAGE);
  // At the path ldd gives (the loader looks in these system folders without an ld.so.cache).
  for (const library of libraries) await link(library, library);
  for (const entry of ["package.json", "dist"]) await link(path.join(ortNode, entry), path.join("app/node_modules/onnxruntime-node", entry));
  for (const name of nativeNames) await link(path.join(nativeDir, name), path.join("app/node_modules/onnxruntime-node", NAPI_BIN, name));
  for (const entry of ["package.json", "dist"]) await link(path.join(ortCommon, entry), path.join("app/node_modules/onnxruntime-common", entry));

  const { build } = await import("esbuild");
  await build({
    entryPoints: [path.join(here, "server.ts")],
    outfile: path.join(rootfs, "app/server.mjs"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    external: ["onnxruntime-node"],
    define: { __BERTH_RUNTIME_VERSION__: JSON.stringify(onnxRuntimeImageTag().split(":")[1]) },
    legalComments: "none",
    logLevel: "warning",
  });

  await mkdir(path.join(rootfs, "etc"), { recursive: true });
  await writeFile(path.join(rootfs, "etc/passwd"), "root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n");
  await writeFile(path.join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  await mkdir(path.join(rootfs, "tmp"));
  await mkdir(path.join(rootfs, "models"));
  // Folders this build made: fixed modes whatever the umask (tar records them).
  const fixModes = async (dir: string) => {
    await chmod(dir, 0o755);
    for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) await fixModes(path.join(dir, entry.name));
  };
  await fixModes(rootfs);
  await chmod(path.join(rootfs, "tmp"), 0o1777);
  for (const file of ["app/server.mjs", "etc/passwd", "etc/group"]) await chmod(path.join(rootfs, file), 0o644);
}

/** The image config (OCI/Docker image JSON). `created` is fixed so the archive is reproducible. */
function imageConfig(options: { tag: string; diffId: string }) {
  const created = "1970-01-01T00:00:00Z";
  return {
    architecture: { x64: "amd64", arm64: "arm64" }[process.arch as "x64" | "arm64"] ?? process.arch,
    os: "linux",
    created,
    config: {
      User: ONNX_RUNTIME_USER,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production", "ORT_DISABLE_TELEMETRY=1"],
      Cmd: [NODE_IN_IMAGE, "/app/server.mjs"],
      WorkingDir: "/app",
      ExposedPorts: { "8080/tcp": {} },
      StopSignal: "SIGTERM",
      Labels: { "io.berth.runtime": "onnx", "org.opencontainers.image.version": options.tag.split(":")[1]! },
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${options.diffId}`] },
    history: [{ created, created_by: "berth runtimes/onnx/image.ts (host node, ldd-named libraries, onnxruntime-node)" }],
  };
}

const fileNameOf = (tag: string) => tag.replace(/[^A-Za-z0-9._-]+/g, "_");

async function readCached(archive: string, meta: string, tag: string): Promise<OnnxRuntimeImageArchive | null> {
  try {
    const recorded = JSON.parse(await readFile(meta, "utf8")) as OnnxRuntimeImageArchive;
    const { size } = await stat(archive);
    if (recorded.tag !== tag || recorded.sizeBytes !== size || !/^[0-9a-f]{64}$/.test(recorded.sha256)) return null;
    return { path: archive, sha256: recorded.sha256, sizeBytes: size, tag };
  } catch {
    return null;
  }
}

/** Work folders and temporary files a killed build left behind (an hour old: no build takes that long). */
async function removeAbandoned(cacheDir: string) {
  for (const name of await readdir(cacheDir)) {
    if (!name.startsWith(".build-") && !name.endsWith(".tmp")) continue;
    const full = path.join(cacheDir, name);
    const info = await stat(full).catch(() => null);
    if (info && Date.now() - info.mtimeMs > 3_600_000) await rm(full, { recursive: true, force: true });
  }
}

async function build(cacheDir: string, tag: string, log: (line: string) => void): Promise<OnnxRuntimeImageArchive> {
  await mkdir(cacheDir, { recursive: true });
  const base = path.join(cacheDir, fileNameOf(tag));
  const archivePath = `${base}.tar`;
  const metaPath = `${base}.tar.json`;
  const cached = await readCached(archivePath, metaPath, tag);
  if (cached) return cached;

  const started = Date.now();
  await removeAbandoned(cacheDir);
  const work = path.join(cacheDir, `.build-${randomBytes(6).toString("hex")}`);
  try {
    const rootfs = path.join(work, "rootfs");
    const out = path.join(work, "out");
    await mkdir(rootfs, { recursive: true });
    await mkdir(out);
    await stageRootfs(rootfs, log);

    const layerTmp = path.join(out, "layer.tar.tmp");
    const layer = await tarTo({ cwd: rootfs, entries: (await readdir(rootfs)).sort(), file: layerTmp, dereference: true });
    await mkdir(path.join(out, layer.sha256));
    await rename(layerTmp, path.join(out, layer.sha256, "layer.tar"));
    const config = `${JSON.stringify(imageConfig({ tag, diffId: layer.sha256 }))}\n`;
    const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
    await writeFile(path.join(out, configName), config);
    await writeFile(path.join(out, "manifest.json"), `${JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: [`${layer.sha256}/layer.tar`] }])}\n`);

    const tmp = `${archivePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const archive = await tarTo({ cwd: out, entries: [configName, layer.sha256, "manifest.json"], file: tmp, dereference: false });
    await rename(tmp, archivePath);
    const result = { path: archivePath, sha256: archive.sha256, sizeBytes: archive.bytes, tag };
    const metaTmp = `${metaPath}.${process.pid}.tmp`;
    await writeFile(metaTmp, `${JSON.stringify(result)}\n`, { mode: 0o644 });
    await fsync(metaTmp);
    await rename(metaTmp, metaPath);
    await fsync(cacheDir);
    log(`runtime image ${tag}: ${(archive.bytes / 1e6).toFixed(1)} MB (layer ${(layer.bytes / 1e6).toFixed(1)} MB) in ${Date.now() - started} ms, sha256 ${archive.sha256}`);

    // Archives of older tags are never served again.
    const prefix = `${fileNameOf(ONNX_RUNTIME_IMAGE_REPOSITORY)}_`;
    for (const name of await readdir(cacheDir)) {
      if (name.startsWith(prefix) && !name.startsWith(fileNameOf(tag)) && /\.tar(\.json)?$/.test(name)) await rm(path.join(cacheDir, name), { force: true });
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const inProgress = new Map<string, Promise<OnnxRuntimeImageArchive>>();

/**
 * Builds the runtime image archive into `cacheDir` once (named by the tag;
 * written to a temporary name, fsynced, renamed) and returns the cached one
 * afterwards. Concurrent callers in one process share one build. Streams:
 * the archive (about 150 MB) is never held in memory.
 */
export function buildOnnxRuntimeImageArchive(options: { cacheDir: string; log?: (line: string) => void }): Promise<OnnxRuntimeImageArchive> {
  const tag = onnxRuntimeImageTag();
  const key = `${path.resolve(options.cacheDir)}\0${tag}`;
  let pending = inProgress.get(key);
  if (!pending) {
    pending = build(options.cacheDir, tag, options.log ?? (() => {})).finally(() => inProgress.delete(key));
    inProgress.set(key, pending);
  }
  return pending;
}

// Loading lives beside the agent's other image code; re-exported for this module's users.
export { imageExists, ImageLoadError, loadImageArchive } from "../docker-images";
