import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { BerthError } from "@/lib/http/errors";
import type { SharedHash } from "./hash-pool";

/**
 * The receive path of every upload: bytes from `source` go into `handle` at
 * `position` and, when `hash` is given, through SHA-256 on a worker thread.
 *
 * Socket reads arrive as 64 KiB chunks. They are copied into a ring of
 * SLOTS slots of SLOT_BYTES in one SharedArrayBuffer; a full slot is written
 * with one positional write (on libuv's thread pool) and hashed by the
 * worker at the same time, while the main thread fills the next slot. A slot
 * is reused only when both are done with it; when none is free the source is
 * paused, so memory is the ring whatever the file's size. Compared with a
 * Transform feeding a WriteStream (hashing on the main thread, one write
 * per 64 KiB chunk), the main thread only receives and copies.
 *
 * No early write-back: an fdatasync started every 64 MiB in the background
 * (to get the disk going before the final fsync) made a 256 MiB push about
 * half as fast on the 2-core VM (bench/upload: 177-200 against 372 MiB/s).
 */
export const SLOT_BYTES = 4 * 1024 * 1024;
const SLOTS = 4;

// Rings are reused across uploads: a SharedArrayBuffer's pages are zeroed when first touched.
const spareRings: SharedArrayBuffer[] = [];
const MAX_SPARE_RINGS = 4;

export type WriteResult = { bytes: number; interrupted: boolean };

export class StreamClosedEarly extends Error {
  readonly code = "ERR_STREAM_PREMATURE_CLOSE";
  constructor() {
    super("source closed before its end");
  }
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number) {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Resolves with the bytes written once all of them are in the file (not yet
 * fsynced) and, with `hash`, hashed. Rejects on a write error, on passing
 * `maxBytes` (payload_too_large) and, unless `keepPartial`, when the source
 * ends early (StreamClosedEarly or the source's error); with `keepPartial`
 * an interrupted source resolves with what arrived, written and hashed (a
 * tus PATCH resumes from there). Never rejects before its own writes have
 * finished, so the caller may close and remove the file at once.
 */
export function writeStream(options: {
  source: Readable;
  handle: FileHandle;
  position: number;
  maxBytes: number;
  hash?: SharedHash;
  keepPartial?: boolean;
}): Promise<WriteResult> {
  const { source, handle, hash } = options;
  const ring = spareRings.pop() ?? new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  const view = Buffer.from(ring);
  const busy = new Array<number>(SLOTS).fill(0);
  const queue: Buffer[] = [];
  let slot = 0;
  let fill = 0;
  let position = options.position;
  let received = 0;
  let inflight = 0;
  let ended = false;
  let interrupted = false;
  let failure: unknown;
  let settled = false;
  let writing: Promise<void> = Promise.resolve();

  return new Promise<WriteResult>((resolve, reject) => {
    const detach = () => {
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("close", onClose);
      source.off("error", onError);
    };
    const settle = () => {
      if (settled || inflight > 0) return;
      if (failure === undefined && !(ended && queue.length === 0 && fill === 0)) return;
      settled = true;
      detach();
      if (spareRings.length < MAX_SPARE_RINGS) spareRings.push(ring);
      if (failure !== undefined) reject(failure);
      else resolve({ bytes: position - options.position, interrupted });
    };
    const fail = (error: unknown) => {
      if (failure !== undefined) return;
      failure = error;
      queue.length = 0;
      source.off("data", onData);
      source.pause();
      settle();
    };
    const opDone = (index: number) => {
      busy[index]! -= 1;
      inflight -= 1;
      if (failure === undefined && index === slot && busy[index] === 0 && queue.length > 0) drain();
      settle();
    };
    const dispatch = (index: number, length: number) => {
      const at = position;
      position += length;
      busy[index] = hash ? 2 : 1;
      inflight += busy[index]!;
      const bytes = view.subarray(index * SLOT_BYTES, index * SLOT_BYTES + length);
      // One write at a time, in order: buffered writes to one file serialise on
      // its inode lock anyway, and in order they extend the file sequentially.
      writing = writing.then(() => (failure === undefined ? writeAll(handle, bytes, at) : undefined)).then(() => opDone(index), (error: unknown) => (fail(error), opDone(index)));
      hash?.update(ring, index * SLOT_BYTES, length).then(() => opDone(index), (error: unknown) => (fail(error), opDone(index)));
    };
    /** Copies queued chunks into free slots; pauses the source when the ring is full. */
    const drain = () => {
      while (queue.length > 0) {
        if (fill === 0 && busy[slot]! > 0) {
          source.pause();
          return;
        }
        const chunk = queue[0]!;
        const n = Math.min(SLOT_BYTES - fill, chunk.length);
        chunk.copy(view, slot * SLOT_BYTES + fill, 0, n);
        fill += n;
        if (n === chunk.length) queue.shift();
        else queue[0] = chunk.subarray(n);
        if (fill === SLOT_BYTES) {
          dispatch(slot, fill);
          slot = (slot + 1) % SLOTS;
          fill = 0;
        }
      }
      if (ended) {
        if (fill > 0) dispatch(slot, fill);
        fill = 0;
        settle();
      } else if (source.isPaused()) source.resume();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > options.maxBytes) {
        fail(new BerthError("payload_too_large", `The artifact exceeds the limit of ${options.maxBytes} bytes (BERTH_MAX_ARTIFACT_BYTES)`, { limit: options.maxBytes }));
        return;
      }
      queue.push(chunk);
      if (queue.length === 1) drain();
    };
    const onEnd = () => {
      ended = true;
      if (failure === undefined) drain();
    };
    const onClose = () => {
      if (ended || failure !== undefined) return;
      if (options.keepPartial) {
        interrupted = true;
        onEnd();
      } else fail(new StreamClosedEarly());
    };
    const onError = (error: Error) => {
      if (options.keepPartial && failure === undefined && !ended) {
        interrupted = true;
        onEnd();
      } else fail(error);
    };
    source.on("data", onData);
    source.once("end", onEnd);
    source.once("close", onClose);
    source.once("error", onError);
    if (source.readableEnded) onEnd();
  });
}
