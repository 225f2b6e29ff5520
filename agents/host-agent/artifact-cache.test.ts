import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactError, createArtifactCache, parseByteSize } from "./artifact-cache";
import { createClient } from "./client";
import { makeArtifact, startFakeControlPlane } from "./test-support";

// Against a real HTTP server speaking the control plane's artifact endpoint
// (Range, 206, cuts mid-body), with real files.
const credential = "berth_agent_test_secret";
const work = mkdtempSync(path.join(os.tmpdir(), "berth-cache-test-"));
let cp: Awaited<ReturnType<typeof startFakeControlPlane>>;
let client: ReturnType<typeof createClient>;

beforeAll(async () => {
  cp = await startFakeControlPlane({ credential });
  client = createClient({ url: cp.url });
});
afterAll(async () => {
  await client.close();
  await cp.close();
});

function newCache(options: { maxBytes?: number; inUse?: string[] } = {}) {
  const cacheDir = mkdtempSync(path.join(work, "cache-"));
  const cache = createArtifactCache({ cacheDir, client, credential: () => credential, maxBytes: options.maxBytes, inUse: () => options.inUse ?? [] });
  return { cache, dir: path.join(cacheDir, "artifacts") };
}
const ref = (a: { sha256: string; sizeBytes: number }) => ({ ...a, downloadPath: `/api/v1/agent/artifacts/${a.sha256}` });

describe("artifact cache", () => {
  it("downloads with the agent credential, verifies and places the file; progress goes to the total", async () => {
    const a = makeArtifact(work, 300_000, "plain");
    cp.add(a);
    const { cache } = newCache();
    const progress: number[] = [];
    const file = await cache.ensure(ref(a), { onProgress: (done, total) => progress.push(done / total) });
    expect(readFileSync(file).equals(readFileSync(a.file))).toBe(true);
    expect(path.basename(file)).toBe(a.sha256);
    expect(progress.at(-1)).toBe(1);
    expect(cp.requests.at(-1)?.auth).toBe(`Bearer ${credential}`);
    const before = cp.requests.length;
    await cache.ensure(ref(a));
    expect(cp.requests.length).toBe(before); // a hit asks nobody
  });

  it("resumes with a Range request after the connection is cut mid-body", async () => {
    const a = makeArtifact(work, 2_000_000, "resume");
    cp.add(a);
    const { cache, dir } = newCache();
    cp.control.cutAfter = 700_000;
    const first = await cache.ensure(ref(a)).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Error);
    const partial = path.join(dir, `${a.sha256}.partial`);
    const kept = readFileSync(partial).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(a.sizeBytes);
    const file = await cache.ensure(ref(a));
    expect(cp.requests.at(-1)?.range).toBe(`bytes=${kept}-`);
    expect(readFileSync(file).equals(readFileSync(a.file))).toBe(true);
    expect(existsSync(partial)).toBe(false);
  });

  it("starts over when the server answers a Range request with 200", async () => {
    const a = makeArtifact(work, 500_000, "norange");
    cp.add(a);
    const { cache, dir } = newCache();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${a.sha256}.partial`), readFileSync(a.file).subarray(0, 1000).map((b) => b ^ 1)); // a wrong partial
    cp.control.ignoreRange = true;
    try {
      const file = await cache.ensure(ref(a));
      expect(cp.requests.at(-1)?.range).toBe("bytes=1000-");
      expect(readFileSync(file).equals(readFileSync(a.file))).toBe(true);
    } finally {
      cp.control.ignoreRange = false;
    }
  });

  it("refuses bytes that do not match the digest, deletes them and says so", async () => {
    const a = makeArtifact(work, 100_000, "wrong");
    cp.add(a);
    cp.control.wrongBytes.add(a.sha256);
    const { cache, dir } = newCache();
    const error = await cache.ensure(ref(a)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as ArtifactError).kind).toBe("integrity");
    expect((error as Error).message).toMatch(/hash to sha256 [0-9a-f]{64}, not the [0-9a-f]{64}/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("shares one download between concurrent requests for the same artifact", async () => {
    const a = makeArtifact(work, 400_000, "shared");
    cp.add(a);
    const { cache } = newCache();
    const before = cp.requests.filter((r) => r.path.includes(a.sha256)).length;
    const files = await Promise.all([cache.ensure(ref(a)), cache.ensure(ref(a)), cache.ensure(ref(a))]);
    expect(new Set(files).size).toBe(1);
    expect(cp.requests.filter((r) => r.path.includes(a.sha256)).length - before).toBe(1);
  });

  it("evicts the least recently used artifacts no workload uses, never one in use", async () => {
    const [a, b, c, d] = ["lru-a", "lru-b", "lru-c", "lru-d"].map((seed) => makeArtifact(work, 100_000, seed));
    for (const x of [a, b, c, d]) cp.add(x!);
    const inUse: string[] = [a!.sha256];
    const { cache, dir } = newCache({ maxBytes: 300_000, inUse });
    await cache.ensure(ref(a!));
    await cache.ensure(ref(b!));
    await cache.ensure(ref(c!));
    // a is oldest but in use; b is the least recently used of the rest
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(dir, a!.sha256), old, old);
    utimesSync(path.join(dir, b!.sha256), new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
    await cache.ensure(ref(d!));
    expect(readdirSync(dir).sort()).toEqual([a!.sha256, c!.sha256, d!.sha256].sort());
  });

  it("refuses a download path's answer from a server that does not know the credential", async () => {
    const a = makeArtifact(work, 1000, "auth");
    cp.add(a);
    const cacheDir = mkdtempSync(path.join(work, "cache-"));
    const cache = createArtifactCache({ cacheDir, client, credential: () => "berth_agent_wrong", inUse: () => [] });
    const error = await cache.ensure(ref(a)).catch((e: unknown) => e);
    expect((error as { kind?: string }).kind).toBe("refused");
  });
});

describe("parseByteSize", () => {
  it.each([
    ["53687091200", 53687091200],
    ["50G", 50 * 1024 ** 3],
    ["512M", 512 * 1024 ** 2],
    ["1.5T", 1.5 * 1024 ** 4],
    ["2GiB", 2 * 1024 ** 3],
    ["100k", 102400],
  ])("%s is %i bytes", (text, bytes) => expect(parseByteSize(text)).toBe(bytes));
  it.each(["", "-1", "0", "ten", "5X"])("refuses %j", (text) => expect(() => parseByteSize(text)).toThrow());
});
