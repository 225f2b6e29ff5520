import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { BerthError } from "@/lib/http/errors";
import { blobPath, incomingDir, placeBlob, receiveArtifact } from "./blob-store";

const root = mkdtempSync(path.join(os.tmpdir(), "berth-blobs-"));
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const chunks = (bytes: Buffer, size = 64 * 1024) => Readable.from((function* () { for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size); })());
const leftovers = (blobDir: string) => (existsSync(incomingDir(blobDir)) ? readdirSync(incomingDir(blobDir)) : []);

async function codeOf(promise: Promise<unknown>) {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BerthError);
  return (error as BerthError).code;
}

describe("receiveArtifact", () => {
  const blobDir = path.join(root, "store");

  it("streams to incoming/ and returns the SHA-256 and size", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const received = await receiveArtifact({ source: chunks(bytes), blobDir, maxBytes: 10 * 1024 * 1024 });
    expect(received).toMatchObject({ sha256: sha(bytes), size: bytes.length });
    expect(readFileSync(received.path).equals(bytes)).toBe(true);
  });

  it("refuses a wrong digest, an oversize or empty file, and a cut-short body, keeping nothing", async () => {
    const dir = path.join(root, "refusals");
    const bytes = randomBytes(256 * 1024);
    expect(await codeOf(receiveArtifact({ source: chunks(bytes), blobDir: dir, maxBytes: 1e9, expectedSha256: "0".repeat(64) }))).toBe("unprocessable");
    expect(await codeOf(receiveArtifact({ source: chunks(bytes), blobDir: dir, maxBytes: 100_000 }))).toBe("payload_too_large");
    expect(await codeOf(receiveArtifact({ source: Readable.from([]), blobDir: dir, maxBytes: 1e9 }))).toBe("validation_failed");
    expect(await codeOf(receiveArtifact({ source: chunks(bytes), blobDir: dir, maxBytes: 1e9, expectedSize: bytes.length + 1 }))).toBe("bad_request");
    const dying = new Readable({ read() {} });
    dying.push(bytes.subarray(0, 1000));
    setTimeout(() => dying.destroy(), 20);
    expect(await codeOf(receiveArtifact({ source: dying, blobDir: dir, maxBytes: 1e9 }))).toBe("bad_request");
    expect(leftovers(dir)).toEqual([]);
  });

  // A real full disk: a 4 MiB tmpfs. Mounting needs root (CI runs as root).
  it.runIf(process.getuid?.() === 0)("answers a full disk with insufficient_storage and leaves nothing", async () => {
    const mount = path.join(root, "tiny");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount]);
    try {
      const code = await codeOf(receiveArtifact({ source: chunks(randomBytes(8 * 1024 * 1024)), blobDir: mount, maxBytes: 1e9 }));
      expect(code).toBe("insufficient_storage");
      expect(leftovers(mount)).toEqual([]);
    } finally {
      execFileSync("umount", [mount]);
    }
  });
});

describe("placeBlob", () => {
  it("stores identical content once", async () => {
    const blobDir = path.join(root, "dedupe");
    mkdirSync(incomingDir(blobDir), { recursive: true });
    const bytes = randomBytes(1000);
    const first = path.join(incomingDir(blobDir), "a");
    const second = path.join(incomingDir(blobDir), "b");
    writeFileSync(first, bytes);
    writeFileSync(second, bytes);
    expect(await placeBlob({ blobDir, file: first, sha256: sha(bytes) })).toEqual({ deduplicated: false });
    expect(await placeBlob({ blobDir, file: second, sha256: sha(bytes) })).toEqual({ deduplicated: true });
    expect(readFileSync(blobPath(blobDir, sha(bytes))).equals(bytes)).toBe(true);
    expect(leftovers(blobDir)).toEqual([]);
  });

  it("refuses anything but a SHA-256 as an address (no path tricks)", () => {
    expect(() => blobPath("/x", "../../etc/passwd")).toThrow(/not a SHA-256/);
    expect(() => blobPath("/x", "A".repeat(64))).toThrow(/not a SHA-256/);
  });
});

afterAll(() => {
  execFileSync("rm", ["-rf", root]);
});
