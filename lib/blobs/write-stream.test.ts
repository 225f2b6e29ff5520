import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { BerthError } from "@/lib/http/errors";
import { SharedHash } from "./hash-pool";
import { SLOT_BYTES, writeStream } from "./write-stream";

const root = mkdtempSync(path.join(os.tmpdir(), "berth-write-stream-"));
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Chunks of uneven sizes, so slot boundaries fall inside chunks. */
function unevenChunks(bytes: Buffer): Readable {
  const sizes = [1, 65536, 7, 300_000, 65536 * 3 + 5];
  return Readable.from(
    (function* () {
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const next = Math.min(bytes.length, at + sizes[i % sizes.length]!);
        yield bytes.subarray(at, next);
        at = next;
      }
    })(),
  );
}

describe("writeStream", () => {
  it("writes and hashes more than the ring holds, byte for byte, at the given position", async () => {
    // Five rings' worth: the source must be paused and resumed many times.
    const bytes = randomBytes(SLOT_BYTES * 4 * 5 + 12345);
    const file = path.join(root, "big");
    writeFileSync(file, Buffer.alloc(100, 1));
    const handle = await open(file, "r+");
    const hash = new SharedHash();
    const result = await writeStream({ source: unevenChunks(bytes), handle, position: 100, maxBytes: bytes.length, hash });
    await handle.close();
    expect(result).toEqual({ bytes: bytes.length, interrupted: false });
    expect(await hash.digest()).toBe(sha(bytes));
    const stored = readFileSync(file);
    expect(stored.subarray(0, 100).equals(Buffer.alloc(100, 1))).toBe(true);
    expect(stored.subarray(100).equals(bytes)).toBe(true);
  });

  it("keeps hashes of concurrent streams apart", async () => {
    const inputs = [randomBytes(SLOT_BYTES + 3), randomBytes(2 * SLOT_BYTES), randomBytes(17)];
    const digests = await Promise.all(
      inputs.map(async (bytes, i) => {
        const handle = await open(path.join(root, `concurrent-${i}`), "w");
        const hash = new SharedHash();
        await writeStream({ source: unevenChunks(bytes), handle, position: 0, maxBytes: 1e9, hash });
        await handle.close();
        return hash.digest();
      }),
    );
    expect(digests).toEqual(inputs.map(sha));
  });

  it("refuses past maxBytes, and only after its own writes have finished", async () => {
    const handle = await open(path.join(root, "limit"), "w");
    const error = await writeStream({ source: unevenChunks(randomBytes(SLOT_BYTES * 3)), handle, position: 0, maxBytes: SLOT_BYTES * 2 }).catch((e: unknown) => e);
    await handle.close();
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe("payload_too_large");
  });

  it("with keepPartial, an interrupted source resolves with what arrived, written and hashed", async () => {
    const bytes = randomBytes(SLOT_BYTES + 1000);
    const source = new Readable({ read() {} });
    source.push(bytes);
    setTimeout(() => source.destroy(), 30);
    const handle = await open(path.join(root, "partial"), "w");
    const hash = new SharedHash();
    const result = await writeStream({ source, handle, position: 0, maxBytes: 1e9, hash, keepPartial: true });
    await handle.close();
    expect(result).toEqual({ bytes: bytes.length, interrupted: true });
    expect(await hash.digest()).toBe(sha(bytes));
    expect(readFileSync(path.join(root, "partial")).equals(bytes)).toBe(true);
  });

  it("without keepPartial, an interrupted source rejects", async () => {
    const source = new Readable({ read() {} });
    source.push(randomBytes(1000));
    setTimeout(() => source.destroy(), 30);
    const handle = await open(path.join(root, "cut"), "w");
    const error = await writeStream({ source, handle, position: 0, maxBytes: 1e9 }).catch((e: unknown) => e);
    await handle.close();
    expect((error as NodeJS.ErrnoException).code).toBe("ERR_STREAM_PREMATURE_CLOSE");
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
