/**
 * The built-in ONNX runtime's container image, made with no registry by the
 * shared builder in ../image-archive.ts: this host's own `node` binary, the
 * shared libraries `ldd` names for it and for ONNX Runtime's native files, the
 * dynamic loader, the bundled server (/app/server.mjs) and onnxruntime-node
 * with only this platform's binaries.
 *
 * Imported by the control plane (which builds and serves the archive) and by
 * the agent (which loads it). No Next or Prisma imports. It reads its sibling
 * source files and the repository's package.json at run time, so it runs from
 * the source tree (tsx), not from a Next bundle.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildImageArchive, linkInto, NODE_IN_IMAGE, stageHostNode, writeUsers, type ImageArchive } from "../image-archive";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../..");
const require = createRequire(import.meta.url);

export const ONNX_RUNTIME_IMAGE_REPOSITORY = "berth/onnx-runtime";
/** The user the server runs as: nobody. The model is mounted read-only; nothing is written. */
export const ONNX_RUNTIME_USER = "65534:65534";
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

/**
 * The runtime's own source files and the shared image builder: what goes into
 * the bundle and decides the image's layout. Tests are left out.
 */
function runtimeSources(): string[] {
  return [
    ...readdirSync(here)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && f !== "test-support.ts")
      .sort()
      .map((f) => path.join(here, f)),
    path.join(here, "../image-archive.ts"),
  ];
}

let cachedTag: string | null = null;

/**
 * The image's tag, computed without building: Berth's version, ONNX Runtime's,
 * Node's, and a hash of the runtime's source files (server, V2 handling, this
 * file and the shared builder, which decide the image's layout and config). Any change to what
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

export type OnnxRuntimeImageArchive = ImageArchive;

// Kept here for this module's users; the builder owns it.
export { sharedLibraries } from "../image-archive";

/** Lays out the image's root filesystem as symlinks to this host's files (tar --dereference copies them). */
async function stageRootfs(rootfs: string, log: (line: string) => void) {
  const ortNode = realpathSync(packageRoot("onnxruntime-node", require));
  const ortCommon = realpathSync(packageRoot("onnxruntime-common", createRequire(path.join(ortNode, "package.json"))));
  const nativeDir = path.join(ortNode, NAPI_BIN);
  const binding = path.join(nativeDir, "onnxruntime_binding.node");

  // The binding and the CPU library only: a site whose npm install fetched the CUDA or
  // TensorRT providers has them here too (hundreds of MB, needing libraries this image lacks).
  const nativeNames = (await readdir(nativeDir)).filter((f) => f === "onnxruntime_binding.node" || /^libonnxruntime\.so(\.\d+)*$/.test(f) || f === "libonnxruntime_providers_shared.so");
  const nativeFiles = nativeNames.map((f) => path.join(nativeDir, f));
  if (!nativeFiles.includes(binding)) throw new Error(`onnxruntime-node has no ${NAPI_BIN}/onnxruntime_binding.node for this platform`);
  // ONNX Runtime's own libraries are found beside the binding ($ORIGIN) and are copied with it.
  const { node, libraries } = await stageHostNode(rootfs, { nativeFiles, ownLibraryDirs: [nativeDir] });
  log(`runtime image: node ${node}, ${libraries.length} shared libraries (${libraries.map((l) => path.basename(l)).join(", ")})`);

  for (const entry of ["package.json", "dist"]) await linkInto(rootfs, path.join(ortNode, entry), path.join("app/node_modules/onnxruntime-node", entry));
  for (const name of nativeNames) await linkInto(rootfs, path.join(nativeDir, name), path.join("app/node_modules/onnxruntime-node", NAPI_BIN, name));
  for (const entry of ["package.json", "dist"]) await linkInto(rootfs, path.join(ortCommon, entry), path.join("app/node_modules/onnxruntime-common", entry));

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

  await writeUsers(rootfs, { name: "nobody", uid: 65534, gid: 65534, group: "nogroup" });
  await mkdir(path.join(rootfs, "tmp"));
  await mkdir(path.join(rootfs, "models"));
}

/**
 * Builds the runtime image archive into `cacheDir` once and returns the cached
 * one afterwards (see buildImageArchive). About 150 MB, never held in memory.
 */
export function buildOnnxRuntimeImageArchive(options: { cacheDir: string; log?: (line: string) => void }): Promise<OnnxRuntimeImageArchive> {
  const tag = onnxRuntimeImageTag();
  const log = options.log ?? (() => {});
  return buildImageArchive({
    cacheDir: options.cacheDir,
    tag,
    stage: (rootfs) => stageRootfs(rootfs, log),
    config: {
      User: ONNX_RUNTIME_USER,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production", "ORT_DISABLE_TELEMETRY=1"],
      Cmd: [NODE_IN_IMAGE, "/app/server.mjs"],
      WorkingDir: "/app",
      ExposedPorts: { "8080/tcp": {} },
      StopSignal: "SIGTERM",
      Labels: { "io.berth.runtime": "onnx", "org.opencontainers.image.version": tag.split(":")[1]! },
    },
    createdBy: "berth runtimes/onnx/image.ts (host node, ldd-named libraries, onnxruntime-node)",
    log,
  });
}

// Loading lives beside the agent's other image code; re-exported for this module's users.
export { imageExists, ImageLoadError, loadImageArchive } from "../docker-images";
