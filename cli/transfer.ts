import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, stat } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import cliProgress from "cli-progress";
import { apiErrorMessage, CliError, type Connection } from "./http";

/** A progress bar on an interactive terminal; silent when output is piped or in CI. */
function progressBar(total: number, label: string) {
  if (!process.stderr.isTTY) return { update: (_n: number) => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value_h} of {total_h} | {speed}/s | ETA {eta_formatted}`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const human = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);
  bar.start(total, 0, { value_h: human(0), total_h: human(total), speed: human(0) });
  return {
    update: (n: number) => bar.update(n, { value_h: human(n), total_h: human(total), speed: human(n / Math.max(0.001, (Date.now() - started) / 1000)) }),
    stop: () => bar.stop(),
  };
}

function counter(onBytes: (n: number) => void) {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      seen += chunk.length;
      onBytes(seen);
      done(null, chunk);
    },
  });
}

function requestFn(url: URL) {
  return url.protocol === "https:" ? https.request : http.request;
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Streams a file as the body of one request, with a progress bar. Memory stays flat. */
export async function uploadFile<T>(connection: Connection, path: string, file: string, headers: Record<string, string>): Promise<T> {
  const { size } = await stat(file).catch(() => {
    throw new CliError(`cannot read ${file}`, 2);
  });
  const url = new URL(`${connection.url}${path}`);
  const bar = progressBar(size, "upload");
  try {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = requestFn(url)(url, {
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/octet-stream",
          "content-length": String(size),
          ...(connection.token ? { authorization: `Bearer ${connection.token}` } : {}),
        },
      });
      req.on("response", resolve);
      req.on("error", (error: NodeJS.ErrnoException) => reject(new CliError(`upload to ${connection.url} failed: ${error.code ?? error.message}`)));
      pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), counter(bar.update), req).catch(() => {
        /* the server may answer (413, 422) before reading everything; the response says why */
      });
    });
    const text = await readAll(response);
    if ((response.statusCode ?? 500) >= 400) throw new CliError(apiErrorMessage(response.statusCode ?? 500, text, connection));
    return JSON.parse(text) as T;
  } finally {
    bar.stop();
  }
}

/**
 * Downloads to `<out>.part`, resuming it with a Range request if it exists,
 * checks the SHA-256 the server announces, then renames it to `out`.
 */
export async function downloadFile(connection: Connection, path: string, out: string): Promise<{ sha256: string; size: number }> {
  const partial = `${out}.part`;
  const have = (await stat(partial).catch(() => null))?.size ?? 0;
  const url = new URL(`${connection.url}${path}`);
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = requestFn(url)(url, {
      headers: { ...(connection.token ? { authorization: `Bearer ${connection.token}` } : {}), ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
    });
    req.on("response", resolve);
    req.on("error", (error: NodeJS.ErrnoException) => reject(new CliError(`download from ${connection.url} failed: ${error.code ?? error.message}`)));
    req.end();
  });
  const status = response.statusCode ?? 500;
  if (status === 416 && have > 0) throw new CliError(`${partial} is longer than the artifact; delete it and try again`);
  if (status >= 400) throw new CliError(apiErrorMessage(status, await readAll(response), connection));
  const expected = String(response.headers["x-berth-sha256"] ?? "");
  const resuming = status === 206;
  const total = resuming ? Number(String(response.headers["content-range"]).split("/")[1]) : Number(response.headers["content-length"]);
  const bar = progressBar(total, "download");
  try {
    await pipeline(response, counter((n) => bar.update((resuming ? have : 0) + n)), createWriteStream(partial, { flags: resuming ? "a" : "w" }));
  } finally {
    bar.stop();
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(partial)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const actual = hash.digest("hex");
  if (expected && actual !== expected) throw new CliError(`downloaded file's SHA-256 ${actual} differs from the registry's ${expected}; kept as ${partial} for inspection`);
  await rename(partial, out);
  return { sha256: actual, size };
}
