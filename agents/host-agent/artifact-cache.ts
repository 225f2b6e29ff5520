import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, stat, unlink, utimes } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AgentClient } from "./client";

/**
 * The agent's artifact cache: `<cacheDir>/artifacts/<sha256>`, each file
 * verified against its SHA-256 before it is renamed into place, so a file
 * under its final name is always whole and right. Downloads stream to a
 * `.partial` file and resume with a Range request after a cut; concurrent
 * requests for one artifact share one download. The cache is bounded: the
 * least recently used artifacts that no desired workload needs are evicted
 * (use is the file's mtime, touched on every use).
 */
export type ArtifactRef = { sha256: string; sizeBytes: number; downloadPath: string };
export type Progress = (doneBytes: number, totalBytes: number) => void;

export type ArtifactErrorKind = "integrity" | "protocol";
/** Failures of the bytes themselves (not of the network): retrying at once will not help. */
export class ArtifactError extends Error {
  constructor(
    readonly kind: ArtifactErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
export const DEFAULT_CACHE_MAX_BYTES = 50 * 1024 ** 3;

/** Bytes, plain or with a binary suffix: 53687091200, 50G, 512M, 1.5T, 2GiB. */
export function parseByteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(value.trim());
  if (!match) throw new Error(`expected a size such as 50G, 512M or a number of bytes, not ${JSON.stringify(value.slice(0, 40))}`);
  const power = match[2] ? "KMGT".indexOf(match[2].toUpperCase()) + 1 : 0;
  const bytes = Math.floor(Number(match[1]) * 1024 ** power);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error("expected a positive size");
  return bytes;
}

type Flight = { promise: Promise<string>; controller: AbortController; waiters: number; listeners: Set<Progress> };

export type ArtifactCache = ReturnType<typeof createArtifactCache>;

export function createArtifactCache(options: {
  cacheDir: string;
  maxBytes?: number;
  client: Pick<AgentClient, "stream">;
  credential: () => string;
  /** The artifacts desired workloads use: never evicted. */
  inUse: () => Iterable<string>;
  log?: (event: string, fields?: Record<string, unknown>) => void;
}) {
  const dir = path.join(options.cacheDir, "artifacts");
  const maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
  const log = options.log ?? (() => {});
  const flights = new Map<string, Flight>();

  function pathFor(sha256: string): string {
    if (!SHA256.test(sha256)) throw new ArtifactError("protocol", `not a SHA-256 digest: ${JSON.stringify(sha256.slice(0, 80))}`);
    return path.join(dir, sha256);
  }

  /** Present and whole: the path, touched as used. Otherwise downloaded (or joined to the download already running). */
  async function ensure(artifact: ArtifactRef, opts: { onProgress?: Progress; signal?: AbortSignal } = {}): Promise<string> {
    const target = pathFor(artifact.sha256);
    const present = await stat(target).catch(() => null);
    if (present && present.size === artifact.sizeBytes && !flights.has(artifact.sha256)) {
      const now = new Date();
      await utimes(target, now, now).catch(() => {});
      return target;
    }
    let flight = flights.get(artifact.sha256);
    if (!flight) {
      const controller = new AbortController();
      const listeners = new Set<Progress>();
      const promise = download(artifact, target, controller.signal, (done, total) => listeners.forEach((l) => l(done, total))).finally(() =>
        flights.delete(artifact.sha256),
      );
      flight = { promise, controller, waiters: 0, listeners };
      flights.set(artifact.sha256, flight);
    }
    return join(flight, opts);
  }

  /** Waits for a shared download; the last waiter to give up aborts it (the partial file stays for a resume). */
  function join(flight: Flight, opts: { onProgress?: Progress; signal?: AbortSignal }): Promise<string> {
    flight.waiters++;
    if (opts.onProgress) flight.listeners.add(opts.onProgress);
    const leave = () => {
      flight.waiters--;
      if (opts.onProgress) flight.listeners.delete(opts.onProgress);
    };
    if (!opts.signal) return flight.promise.finally(leave);
    const signal = opts.signal;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        leave();
        if (flight.waiters === 0) flight.controller.abort();
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          leave();
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          leave();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  async function download(artifact: ArtifactRef, target: string, signal: AbortSignal, progress: Progress): Promise<string> {
    await mkdir(dir, { recursive: true });
    await evict(artifact.sizeBytes, artifact.sha256);
    const partial = `${target}.partial`;
    let offset = (await stat(partial).catch(() => null))?.size ?? 0;
    if (offset > artifact.sizeBytes) {
      await unlink(partial);
      offset = 0;
    }
    let hash = createHash("sha256");
    if (offset > 0) for await (const chunk of createReadStream(partial, { start: 0, end: offset - 1 })) hash.update(chunk as Buffer);
    progress(offset, artifact.sizeBytes);
    if (offset < artifact.sizeBytes || artifact.sizeBytes === 0) {
      const response = await options.client.stream({
        path: artifact.downloadPath,
        credential: options.credential(),
        headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        signal,
      });
      if (response.status === 206) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.header("content-range") ?? "");
        if (offset === 0 || !range || Number(range[1]) !== offset) {
          response.body.destroy();
          // The partial file cannot be trusted to line up: start over next time.
          await unlink(partial).catch(() => {});
          throw new ArtifactError("protocol", `the control plane answered a range that does not continue the download at byte ${offset} (${response.header("content-range") ?? "no Content-Range"})`);
        }
      } else if (offset > 0) {
        // 200 to a Range request: the whole file comes again, so start over.
        hash = createHash("sha256");
        offset = 0;
        progress(0, artifact.sizeBytes);
      }
      let done = offset;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          done += chunk.length;
          if (done > artifact.sizeBytes) return callback(new ArtifactError("integrity", `artifact ${artifact.sha256} is larger than the ${artifact.sizeBytes} bytes announced`));
          hash.update(chunk);
          progress(done, artifact.sizeBytes);
          callback(null, chunk);
        },
      });
      try {
        await pipeline(response.body, meter, createWriteStream(partial, { flags: offset > 0 ? "a" : "w" }), { signal });
      } catch (error) {
        if (error instanceof ArtifactError) await unlink(partial).catch(() => {});
        throw error;
      }
      if (done !== artifact.sizeBytes) throw new ArtifactError("protocol", `the download of ${artifact.sha256} ended at ${done} of ${artifact.sizeBytes} bytes`);
    }
    const digest = hash.digest("hex");
    if (digest !== artifact.sha256) {
      await unlink(partial).catch(() => {});
      throw new ArtifactError(
        "integrity",
        `artifact refused: its bytes hash to sha256 ${digest}, not the ${artifact.sha256} the control plane announced; the download was deleted`,
      );
    }
    const handle = await open(partial, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(partial, target);
    const directory = await open(dir, "r");
    await directory.sync().finally(() => directory.close());
    log("artifact downloaded", { sha256: artifact.sha256, bytes: artifact.sizeBytes });
    return target;
  }

  /** Every file in the cache with its size and last use. */
  async function entries(): Promise<{ sha256: string; file: string; bytes: number; usedAt: number }[]> {
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: { sha256: string; file: string; bytes: number; usedAt: number }[] = [];
    for (const name of names) {
      const sha256 = name.replace(/\.partial$/, "");
      if (!SHA256.test(sha256)) continue;
      const info = await stat(path.join(dir, name)).catch(() => null);
      if (info?.isFile()) out.push({ sha256, file: path.join(dir, name), bytes: info.size, usedAt: info.mtimeMs });
    }
    return out;
  }

  /**
   * Evicts least recently used artifacts (and stale partial downloads) that no
   * desired workload uses until `incomingBytes` more fit under the bound.
   */
  async function evict(incomingBytes = 0, incomingSha?: string): Promise<{ evicted: string[]; totalBytes: number }> {
    const keep = new Set(options.inUse());
    for (const sha of flights.keys()) keep.add(sha);
    if (incomingSha) keep.add(incomingSha);
    const all = await entries();
    let total = all.reduce((sum, e) => sum + e.bytes, 0);
    const evicted: string[] = [];
    for (const entry of all.filter((e) => !keep.has(e.sha256)).sort((a, b) => a.usedAt - b.usedAt)) {
      if (total + incomingBytes <= maxBytes) break;
      await unlink(entry.file).catch(() => {});
      total -= entry.bytes;
      evicted.push(entry.sha256);
      log("artifact evicted", { sha256: entry.sha256, bytes: entry.bytes });
    }
    return { evicted, totalBytes: total };
  }

  return { ensure, evict, pathFor, entries };
}
