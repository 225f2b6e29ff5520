import { createHash, type Hash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { FileStore } from "@tus/file-store";
import { hashFile } from "./blob-store";

export class DiskFullError extends Error {
  constructor() {
    super("The artifact store is out of space");
  }
}

/**
 * @tus/file-store's FileStore, with the SHA-256 computed while the bytes
 * arrive. tus uploads arrive in order (each PATCH continues at the current
 * offset), so one running hash per upload covers them; after a server
 * restart the running hash is gone and the finished file is hashed once
 * more instead. `write` mirrors FileStore.write (@tus/file-store 2.x) and
 * keeps ENOSPC distinguishable, where FileStore turns every write error into
 * a generic 500.
 */
export class HashingFileStore extends FileStore {
  private readonly running = new Map<string, { hash: Hash; offset: number }>();

  override async write(readable: Readable, fileId: string, offset: number): Promise<number> {
    let state = this.running.get(fileId);
    if (offset === 0) state = { hash: createHash("sha256"), offset: 0 };
    const hashing = state && state.offset === offset ? state : undefined;
    this.running.delete(fileId);
    let received = 0;
    const meter = new Transform({
      highWaterMark: 8 * 1024 * 1024,
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        hashing?.hash.update(chunk);
        done(null, chunk);
      },
    });
    const target = fs.createWriteStream(path.join(this.directory, fileId), { flags: "r+", start: offset, highWaterMark: 1024 * 1024 });
    try {
      await pipeline(readable, meter, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT") throw new DiskFullError();
      // A cut connection: the bytes that reached the file count, but the running hash may be ahead of them.
      return offset + Math.min(received, target.bytesWritten);
    }
    if (hashing) this.running.set(fileId, { hash: hashing.hash, offset: offset + received });
    return offset + received;
  }

  /** The finished upload's digest: from the running hash when it covers the whole file, else by reading it. */
  async digestOf(fileId: string, size: number): Promise<string> {
    const state = this.running.get(fileId);
    this.running.delete(fileId);
    if (state && state.offset === size) return state.hash.digest("hex");
    return (await hashFile(path.join(this.directory, fileId))).sha256;
  }

  filePath(fileId: string): string {
    return path.join(this.directory, fileId);
  }

  /** After the finished file moved into the blob store: drop tus's record of the upload. */
  async forgetFinished(fileId: string): Promise<void> {
    this.running.delete(fileId);
    await this.configstore.delete(fileId);
  }
}
