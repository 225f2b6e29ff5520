import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { BerthError } from "@/lib/http/errors";
import { SharedHash } from "./hash-pool";
import { writeStream } from "./write-stream";

/**
 * Artifacts on disk, addressed by SHA-256:
 *   <blobDir>/sha256/<first two hex>/<hex>   finished, verified, immutable
 *   <blobDir>/incoming/<uuid>                 being received; never read as an artifact
 * Bytes stream through: memory does not grow with the file. A file enters
 * sha256/ only by rename after its digest is known, so a half-written
 * artifact can never be served.
 */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function blobPath(blobDir: string, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256 digest: ${sha256}`);
  return path.join(blobDir, "sha256", sha256.slice(0, 2), sha256);
}

export function incomingDir(blobDir: string): string {
  return path.join(blobDir, "incoming");
}

export type ReceivedFile = { path: string; sha256: string; size: number };

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Streams `source` into incoming/, hashing as it goes (lib/blobs/write-stream.ts).
 * On any failure (client gone, limit passed, disk full, wrong digest, empty)
 * the partial file is removed before the error propagates.
 */
export async function receiveArtifact(options: {
  source: Readable;
  blobDir: string;
  maxBytes: number;
  expectedSha256?: string;
  expectedSize?: number;
}): Promise<ReceivedFile> {
  const dir = incomingDir(options.blobDir);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, randomUUID());
  const hash = new SharedHash();
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, "wx");
    // The source is only listened to, never destroyed: on a refusal an HTTP
    // request must stay open for the 413 or 422 to be sent.
    const { bytes: size } = await writeStream({ source: options.source, handle, position: 0, maxBytes: options.maxBytes, hash });
    if (size === 0) throw new BerthError("validation_failed", "The artifact is empty");
    if (options.expectedSize !== undefined && size !== options.expectedSize) {
      throw new BerthError("bad_request", `Received ${size} bytes but ${options.expectedSize} were announced; the upload was cut short`);
    }
    // A version is registered only after its bytes are on disk, so a power cut
    // cannot leave a registered, empty artifact. fdatasync: the size is
    // written too (it is needed to read the data back); the rest of the inode is not.
    const [sha256] = await Promise.all([hash.digest(), handle.datasync()]);
    await handle.close();
    handle = undefined;
    if (options.expectedSha256 && options.expectedSha256 !== sha256) {
      throw new BerthError("unprocessable", `SHA-256 mismatch: expected ${options.expectedSha256}, received ${sha256}; nothing was kept`, {
        expected: options.expectedSha256,
        actual: sha256,
      });
    }
    return { path: file, sha256, size };
  } catch (error) {
    hash.drop();
    await handle?.close().catch(() => {});
    await rm(file, { force: true });
    if (isDiskFull(error)) throw new BerthError("insufficient_storage", "The artifact store is out of space; nothing was kept");
    if (error instanceof BerthError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ECONNRESET") {
      throw new BerthError("bad_request", "The upload was interrupted before it finished; nothing was kept");
    }
    throw error;
  }
}

/** fsync: the bytes (or, for a folder, the entries) reach the disk before we rely on them. */
export async function syncPath(target: string): Promise<void> {
  const handle = await open(target, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Moves a verified file to its content address. Identical content already
 * stored is kept as is (stored once) and the new copy dropped.
 */
export async function placeBlob(options: { blobDir: string; file: string; sha256: string }): Promise<{ deduplicated: boolean }> {
  const target = blobPath(options.blobDir, options.sha256);
  try {
    await stat(target);
    await rm(options.file, { force: true });
    return { deduplicated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(path.dirname(target), { recursive: true });
  await rename(options.file, target);
  await syncPath(path.dirname(target)); // the rename itself survives a power cut
  return { deduplicated: false };
}

export async function removeBlob(options: { blobDir: string; sha256: string }): Promise<void> {
  await unlink(blobPath(options.blobDir, options.sha256)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
}

/** Leftovers of a crash mid-upload: incoming files older than `olderThanMs`. */
export async function sweepIncoming(options: { blobDir: string; olderThanMs: number }): Promise<number> {
  const dir = incomingDir(options.blobDir);
  let removed = 0;
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    const file = path.join(dir, entry);
    const info = await stat(file).catch(() => null);
    if (info && Date.now() - info.mtimeMs > options.olderThanMs) {
      await rm(file, { force: true });
      removed += 1;
    }
  }
  return removed;
}
