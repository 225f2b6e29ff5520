/**
 * Container images made with no registry and no base image: a `docker load`-able
 * archive (the `docker save` format) of one layer holding this host's own `node`
 * binary, the shared libraries `ldd` names for it (and for any native files the
 * image adds), the dynamic loader, and whatever the caller stages beside them.
 * Berth's machines and air-gapped sites can pull nothing, so this is how both
 * the built-in ONNX runtime image (runtimes/onnx/image.ts) and the agent's image
 * (agents/host-agent/image.ts) are made: one builder, two layouts.
 *
 * The libraries come from the building host, so the image runs on hosts of the
 * same CPU architecture whatever their distribution.
 *
 * Needs on the building host: GNU tar (--sort and --mtime make the archive
 * byte-for-byte reproducible) and ldd (glibc's libc-bin). No Next or Prisma
 * imports: the control plane, the CLI and tests import it.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, realpathSync } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Where the host's node binary goes in every image this module makes. */
export const NODE_IN_IMAGE = "/usr/local/bin/node";

export type ImageArchive = { path: string; sha256: string; sizeBytes: number; tag: string };

/** The `config` part of a Docker/OCI image config: how a container of the image runs. */
export type ImageRunConfig = {
  User: string;
  Env: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir: string;
  ExposedPorts?: Record<string, object>;
  StopSignal?: string;
  Labels: Record<string, string>;
};

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

/** Puts a host file or folder into the staged root filesystem at `at`, as a symlink (tar --dereference copies it). */
export async function linkInto(rootfs: string, target: string, at: string): Promise<void> {
  const dest = path.join(rootfs, at);
  await mkdir(path.dirname(dest), { recursive: true });
  await symlink(target, dest);
}

/**
 * Stages the host's node binary at NODE_IN_IMAGE and, at the paths ldd gives
 * (the loader looks in these system folders without an ld.so.cache), every
 * shared library that node and `nativeFiles` need. Libraries under one of
 * `ownLibraryDirs` are left out: the caller copies those beside its native
 * files ($ORIGIN). Returns the libraries staged.
 */
export async function stageHostNode(rootfs: string, options: { nativeFiles?: string[]; ownLibraryDirs?: string[] } = {}): Promise<{ node: string; libraries: string[] }> {
  const node = realpathSync(process.execPath);
  const libraries = new Set<string>();
  for (const binary of [node, ...(options.nativeFiles ?? [])]) {
    for (const library of await sharedLibraries(binary)) {
      if (!(options.ownLibraryDirs ?? []).some((dir) => library.startsWith(`${dir}${path.sep}`))) libraries.add(library);
    }
  }
  await linkInto(rootfs, node, NODE_IN_IMAGE);
  for (const library of libraries) await linkInto(rootfs, library, library);
  return { node, libraries: [...libraries] };
}

/** /etc/passwd and /etc/group naming root and the image's one user, so `id`, logs and `docker exec` show a name. */
export async function writeUsers(rootfs: string, user: { name: string; uid: number; gid: number; group: string }): Promise<void> {
  await mkdir(path.join(rootfs, "etc"), { recursive: true });
  await writeFile(path.join(rootfs, "etc/passwd"), `root:x:0:0:root:/:/sbin/nologin\n${user.name}:x:${user.uid}:${user.gid}:${user.name}:/nonexistent:/sbin/nologin\n`);
  await writeFile(path.join(rootfs, "etc/group"), `root:x:0:\n${user.group}:x:${user.gid}:\n`);
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

/**
 * Fixed modes for what the stage wrote itself, whatever the umask (tar records
 * them): folders 0755, files 0644, /tmp 1777. Symlinks to host files are left
 * alone: tar --dereference records the host file's own mode (node stays executable).
 */
async function fixModes(rootfs: string) {
  const walk = async (dir: string) => {
    await chmod(dir, 0o755);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) await chmod(full, 0o644);
    }
  };
  await walk(rootfs);
  if (await lstat(path.join(rootfs, "tmp")).catch(() => null)) await chmod(path.join(rootfs, "tmp"), 0o1777);
}

/** The image config (OCI/Docker image JSON). `created` is fixed so the archive is reproducible. */
function imageConfig(options: { config: ImageRunConfig; diffId: string; createdBy: string }) {
  const created = "1970-01-01T00:00:00Z";
  return {
    architecture: { x64: "amd64", arm64: "arm64" }[process.arch as "x64" | "arm64"] ?? process.arch,
    os: "linux",
    created,
    config: options.config,
    rootfs: { type: "layers", diff_ids: [`sha256:${options.diffId}`] },
    history: [{ created, created_by: options.createdBy }],
  };
}

const fileNameOf = (tag: string) => tag.replace(/[^A-Za-z0-9._-]+/g, "_");
const repositoryOf = (tag: string) => tag.slice(0, tag.lastIndexOf(":"));

async function readCached(archive: string, meta: string, tag: string): Promise<ImageArchive | null> {
  try {
    const recorded = JSON.parse(await readFile(meta, "utf8")) as ImageArchive;
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

export type ImageArchiveSpec = {
  /** Where archives are kept, named by tag. Archives of older tags of the same repository are deleted after a new build. */
  cacheDir: string;
  /** `repository:tag`; it goes into the archive's manifest, so `docker load` tags the image with it. */
  tag: string;
  /**
   * Names the cached archive (default: the tag, which suits a tag that hashes the
   * image's inputs). A tag that stays put while its content changes (a release
   * version) needs a key that changes with the content, or a stale archive is served.
   */
  cacheKey?: string;
  /** Lays out the root filesystem in `rootfs` (symlinks to host files, or files written there). */
  stage: (rootfs: string) => Promise<void>;
  config: ImageRunConfig;
  /** The image history's one line: what made it. */
  createdBy: string;
  log?: (line: string) => void;
};

async function build(spec: ImageArchiveSpec): Promise<ImageArchive> {
  const { cacheDir, tag } = spec;
  const log = spec.log ?? (() => {});
  await mkdir(cacheDir, { recursive: true });
  const base = path.join(cacheDir, fileNameOf(spec.cacheKey ?? tag));
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
    await spec.stage(rootfs);
    await fixModes(rootfs);

    const layerTmp = path.join(out, "layer.tar.tmp");
    const layer = await tarTo({ cwd: rootfs, entries: (await readdir(rootfs)).sort(), file: layerTmp, dereference: true });
    await mkdir(path.join(out, layer.sha256));
    await rename(layerTmp, path.join(out, layer.sha256, "layer.tar"));
    const config = `${JSON.stringify(imageConfig({ config: spec.config, diffId: layer.sha256, createdBy: spec.createdBy }))}\n`;
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
    log(`image ${tag}: ${(archive.bytes / 1e6).toFixed(1)} MB (layer ${(layer.bytes / 1e6).toFixed(1)} MB) in ${Date.now() - started} ms, sha256 ${archive.sha256}`);

    // Archives of older tags (or keys) of this repository are never served again.
    const prefix = `${fileNameOf(repositoryOf(tag))}_`;
    for (const name of await readdir(cacheDir)) {
      if (name.startsWith(prefix) && !name.startsWith(path.basename(base)) && /\.tar(\.json)?$/.test(name)) await rm(path.join(cacheDir, name), { force: true });
    }
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const inProgress = new Map<string, Promise<ImageArchive>>();

/**
 * Builds the image archive into `cacheDir` once (named by the tag; written to
 * a temporary name, fsynced, renamed, with a `.tar.json` of its sha256 and
 * size written last) and returns the cached one afterwards. Concurrent callers
 * in one process share one build. Streams (tar → hash → file): the archive is
 * never held in memory. Reproducible: the same files give the same bytes.
 */
export function buildImageArchive(spec: ImageArchiveSpec): Promise<ImageArchive> {
  const key = `${path.resolve(spec.cacheDir)}\0${spec.cacheKey ?? spec.tag}`;
  let pending = inProgress.get(key);
  if (!pending) {
    pending = build(spec).finally(() => inProgress.delete(key));
    inProgress.set(key, pending);
  }
  return pending;
}
