import { open } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { FileStore } from "@tus/file-store";
import { hashFile } from "./blob-store";
import { SharedHash } from "./hash-pool";
import { writeStream } from "./write-stream";

export class DiskFullError extends Error {
  constructor() {
    super("The artifact store is out of space");
  }
}

/**
 * @tus/file-store's FileStore, with the SHA-256 computed while the bytes
 * arrive, through the same receive path as a single-request push
 * (write-stream.ts: large positional writes, hashing on a worker thread).
 * tus uploads arrive in order (each PATCH continues at the current offset),
 * so one running hash per upload covers them; after a server restart the
 * running hash is gone and the finished file is hashed once more instead.
 * `write` replaces FileStore.write (@tus/file-store 2.x: a Transform into a
 * WriteStream) and keeps ENOSPC distinguishable, where FileStore turns every
 * write error into a generic 500.
 */
export class HashingFileStore extends FileStore {
  private readonly running = new Map<string, { hash: SharedHash; offset: number }>();

  override async write(readable: Readable, fileId: string, offset: number): Promise<number> {
    let state = this.running.get(fileId);
    this.running.delete(fileId);
    if (state && (offset === 0 || state.offset !== offset)) {
      state.hash.drop();
      state = undefined;
    }
    if (offset === 0) state = { hash: new SharedHash(), offset: 0 };
    const handle = await open(this.filePath(fileId), "r+");
    try {
      // keepPartial: a cut connection keeps what arrived (written and hashed), and the client resumes from there.
      const { bytes } = await writeStream({ source: readable, handle, position: offset, maxBytes: Number.MAX_SAFE_INTEGER, hash: state?.hash, keepPartial: true });
      if (state) this.running.set(fileId, { hash: state.hash, offset: offset + bytes });
      return offset + bytes;
    } catch (error) {
      state?.hash.drop();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOSPC" || code === "EDQUOT") throw new DiskFullError();
      throw error;
    } finally {
      await handle.close();
    }
  }

  override async remove(fileId: string): Promise<void> {
    this.running.get(fileId)?.hash.drop();
    this.running.delete(fileId);
    await super.remove(fileId);
  }

  /** The finished upload's digest: from the running hash when it covers the whole file, else by reading it. */
  async digestOf(fileId: string, size: number): Promise<string> {
    const state = this.running.get(fileId);
    this.running.delete(fileId);
    if (state && state.offset === size) return state.hash.digest();
    state?.hash.drop();
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
