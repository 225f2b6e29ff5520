/**
 * bench/upload: artifact upload throughput against the disk's own limit.
 *
 * For each size it writes a file of random bytes, then in the same run:
 *   1. copies it with `cp` on the same disk (the limit),
 *   2. uploads it through Berth's real HTTP API (one streamed request, hashed
 *      with SHA-256 as it arrives, moved to its content address),
 *   3. uploads it through the resumable (tus) endpoint the browser uses, in one PATCH,
 * and prints the throughputs (best of three alternating rounds), the ratios
 * to cp and to cp + fsync, and the server's resident memory (before, and the peak sampled
 * every 20 ms during the uploads).
 *
 *   npm run build && node --import tsx bench/upload/run.ts [--sizes 256,2048] [--dir /var/tmp]
 *
 * Sizes are MiB. The data folder and the files live under --dir (default
 * /var/tmp), so cp and the upload write to the same disk.
 */
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, mkdtempSync, openSync, rmSync, writeSync, closeSync, chmodSync } from "node:fs";
import http from "node:http";
import { loadavg } from "node:os";
import path from "node:path";
import { freePort, rssKiB } from "../common";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const sizesMiB = option("sizes", "256,2048").split(",").map(Number);
const base = option("dir", "/var/tmp");
const work = mkdtempSync(path.join(base, "berth-bench-upload-"));
chmodSync(work, 0o711);
const root = path.resolve(import.meta.dirname, "../..");



function writeRandomFile(file: string, mib: number) {
  const chunk = randomBytes(16 * 1024 * 1024);
  const fd = openSync(file, "w");
  for (let written = 0; written < mib * 1024 * 1024; written += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, mib * 1024 * 1024 - written));
  closeSync(fd);
  execFileSync("sync");
}

const hasCurl = (() => {
  try {
    execFileSync("curl", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** curl when present (a lean client leaves the second core to the server), else Node's http. */
function upload(port: number, token: string, model: string, file: string, size: number): Promise<number> {
  if (hasCurl) {
    // Asynchronous, so the memory sampler keeps running during the upload.
    return new Promise((resolve, reject) => {
      const curl = spawn("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "-H", `authorization: Bearer ${token}`, "-H", "content-type: application/octet-stream", "-T", file, "-X", "POST", `http://127.0.0.1:${port}/api/v1/models/${model}/versions?format=other`]);
      let out = "";
      curl.stdout.on("data", (c: Buffer) => (out += c));
      curl.on("close", () => (out.trim() === "201" ? resolve(201) : reject(new Error(`upload answered ${out}`))));
    });
  }
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: `/api/v1/models/${model}/versions?format=other`,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream", "content-length": String(size) },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => (res.statusCode === 201 ? resolve(res.statusCode) : reject(new Error(`upload answered ${res.statusCode}: ${body}`))));
    });
    req.on("error", reject);
    createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

/**
 * The browser's path: a tus upload (@tus/server behind Berth's admission),
 * created with POST and sent in one PATCH, as tus-js-client does by default
 * (chunkSize Infinity). curl, like the single-request upload.
 */
async function uploadTus(port: number, token: string, model: string, file: string, size: number): Promise<void> {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const created = await fetch(`http://127.0.0.1:${port}/api/v1/uploads`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "tus-resumable": "1.0.0", "upload-length": String(size), "upload-metadata": `model ${b64(model)},format ${b64("other")}` },
  });
  if (created.status !== 201) throw new Error(`tus create answered ${created.status}: ${await created.text()}`);
  const location = new URL(created.headers.get("location")!, `http://127.0.0.1:${port}`).href;
  await new Promise<void>((resolve, reject) => {
    const curl = spawn("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "-H", `authorization: Bearer ${token}`, "-H", "tus-resumable: 1.0.0", "-H", "upload-offset: 0", "-H", "content-type: application/offset+octet-stream", "-T", file, "-X", "PATCH", location]);
    let out = "";
    curl.stdout.on("data", (c: Buffer) => (out += c));
    curl.on("close", () => (out.trim() === "200" || out.trim() === "204" ? resolve() : reject(new Error(`tus PATCH answered ${out}`))));
  });
}

async function main() {
  const port = await freePort();
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn", BERTH_ADMIN_EMAIL: "bench@berth.test", BERTH_ADMIN_PASSWORD: "benchmark password" };
  delete env.DATABASE_URL;
  const server = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on("data", (c: Buffer) => (c.toString().includes("Berth is running") ? resolve() : undefined));
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  try {
    const token = execFileSync(process.execPath, ["bin/berth.mjs", "admin", "create-token", "--name", "bench", "--role", "ADMIN"], { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const model = "bench-upload";
    await fetch(`http://127.0.0.1:${port}/api/v1/models`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ name: model }) });
    const rows: string[] = [];
    // Free the space (and avoid deduplication) for the next upload.
    const deleteVersions = async () => {
      const versions = (await (await fetch(`http://127.0.0.1:${port}/api/v1/models/${model}/versions`, { headers: { authorization: `Bearer ${token}` } })).json()) as { versions: { label: string }[] };
      for (const v of versions.versions) await fetch(`http://127.0.0.1:${port}/api/v1/models/${model}/versions/${v.label}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    };
    for (const mib of sizesMiB) {
      const file = path.join(work, `payload-${mib}.bin`);
      writeRandomFile(file, mib);
      const size = mib * 1024 * 1024;

      // Three rounds, alternating, each starting from a clean page cache
      // state (sync), so neither side pays for the other's write-back.
      let copySeconds = Infinity;
      let durableCopySeconds = Infinity;
      let uploadSeconds = Infinity;
      let tusSeconds = Infinity;
      const rssBefore = rssKiB(server.pid!);
      let peak = rssBefore;
      for (let round = 0; round < 3; round++) {
        execFileSync("sync");
        const copyStarted = performance.now();
        execFileSync("cp", [file, `${file}.copy`]);
        copySeconds = Math.min(copySeconds, (performance.now() - copyStarted) / 1000);
        // Berth fsyncs an artifact before registering it; the same durability for cp:
        execFileSync("sync", [`${file}.copy`]);
        durableCopySeconds = Math.min(durableCopySeconds, (performance.now() - copyStarted) / 1000);
        rmSync(`${file}.copy`);
        execFileSync("sync");

        const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(server.pid!))), 20);
        const uploadStarted = performance.now();
        await upload(port, token, model, file, size);
        uploadSeconds = Math.min(uploadSeconds, (performance.now() - uploadStarted) / 1000);
        peak = Math.max(peak, rssKiB(server.pid!));
        await deleteVersions();
        execFileSync("sync");

        const tusStarted = performance.now();
        await uploadTus(port, token, model, file, size);
        tusSeconds = Math.min(tusSeconds, (performance.now() - tusStarted) / 1000);
        clearInterval(sampler);
        peak = Math.max(peak, rssKiB(server.pid!));
        await deleteVersions();
      }

      const cpRate = mib / copySeconds;
      const durableRate = mib / durableCopySeconds;
      const upRate = mib / uploadSeconds;
      const tusRate = mib / tusSeconds;
      rows.push(
        `${String(mib).padStart(6)} MiB  upload ${upRate.toFixed(0).padStart(5)} MiB/s | cp ${cpRate.toFixed(0).padStart(5)} MiB/s (ratio ${(upRate / cpRate).toFixed(2)}) | cp+fsync ${durableRate.toFixed(0).padStart(5)} MiB/s (ratio ${(upRate / durableRate).toFixed(2)}) | tus ${tusRate.toFixed(0).padStart(5)} MiB/s (${(tusRate / cpRate).toFixed(2)} / ${(tusRate / durableRate).toFixed(2)}) | load ${loadavg()[0]!.toFixed(1)} | server RSS ${(rssBefore / 1024).toFixed(0)} MiB before, ${(peak / 1024).toFixed(0)} MiB peak`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
      rmSync(file);
    }
    process.stdout.write(`\nbench/upload on ${base} (${execFileSync("df", ["--output=source", base], { encoding: "utf8" }).split("\n")[1]?.trim()}), ${new Date().toISOString()}\n${rows.join("\n")}\n`);
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
