/**
 * Berth's built-in ONNX runtime: serves ONE ONNX model over the Open
 * Inference Protocol V2 REST API (KServe V2) with ONNX Runtime on the CPU.
 * node:http and onnxruntime-node only; bundled by image.ts into the runtime
 * image as /app/server.mjs (onnxruntime-node stays external).
 *
 *   BERTH_MODEL_PATH=samples/iris/iris-v1.onnx BERTH_MODEL_NAME=iris node --import tsx runtimes/onnx/server.ts
 *
 * Environment: BERTH_MODEL_PATH (required), BERTH_MODEL_NAME (default: the
 * file name without extension), BERTH_MODEL_VERSION (optional), PORT (default
 * 8080; 0 picks a free one), HOST (default all interfaces),
 * BERTH_INTRA_OP_THREADS (ONNX Runtime's per-request threads, default its
 * own choice), BERTH_SHUTDOWN_TIMEOUT_SECONDS (default 10),
 * ORT_DISABLE_TELEMETRY (set to 1 unless given).
 *
 * Logs single JSON lines on stdout: start-up, model loaded, shutdown and
 * errors; never one line per request.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import type { InferenceSession, Tensor } from "onnxruntime-node";
import { inferResponseJson, modelMetadata, parseInferRequest, signatureOf, V2Error, type ModelSignature } from "./v2";

export const MAX_BODY_BYTES = 64 * 1024 * 1024;

function log(level: "info" | "error", msg: string, fields: Record<string, unknown> = {}) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

type Model = { session: InferenceSession; signature: ModelSignature; tensorCtor: typeof Tensor };

function main() {
  const modelPath = process.env.BERTH_MODEL_PATH;
  if (!modelPath) {
    log("error", "BERTH_MODEL_PATH is not set: it names the .onnx file to serve");
    process.exit(2);
  }
  const modelName = process.env.BERTH_MODEL_NAME || path.basename(modelPath).replace(/\.onnx$/i, "");
  const modelVersion = process.env.BERTH_MODEL_VERSION || null;
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    log("error", `PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(2);
  }
  const shutdownTimeoutMs = Number(process.env.BERTH_SHUTDOWN_TIMEOUT_SECONDS ?? 10) * 1000;
  // Before onnxruntime-node loads: it reads this when its environment is created.
  process.env.ORT_DISABLE_TELEMETRY ??= "1";

  let model: Model | null = null;
  let shuttingDown = false;
  let inFlight = 0;

  const send = (res: http.ServerResponse, status: number, body: string) => {
    if (shuttingDown) res.shouldKeepAlive = false;
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const sendError = (res: http.ServerResponse, status: number, message: string) => send(res, status, JSON.stringify({ error: message }));

  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers["content-length"] ?? 0);
      if (declared > MAX_BODY_BYTES) return reject(new V2Error(413, `the request body is over the ${MAX_BODY_BYTES} byte limit`));
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.removeAllListeners("data");
          reject(new V2Error(413, `the request body is over the ${MAX_BODY_BYTES} byte limit`));
        } else chunks.push(chunk);
      });
      req.on("end", () => resolve(Buffer.concat(chunks, size)));
      req.on("error", reject);
    });

  const infer = async (req: http.IncomingMessage, res: http.ServerResponse, m: Model) => {
    // Any content type is read as JSON (curl -d sends form-urlencoded), except the binary tensor extension's.
    if (req.headers["inference-header-content-length"] !== undefined || /^application\/octet-stream\b/i.test(req.headers["content-type"] ?? "")) {
      throw new V2Error(415, "the binary tensor extension is not supported; send the request as JSON");
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch (error) {
      throw new V2Error(400, `the request body is not valid JSON: ${(error as Error).message}`);
    }
    const request = parseInferRequest(body, m.signature);
    const feeds = Object.fromEntries(request.feeds.map((f) => [f.name, new m.tensorCtor(f.type, f.data as never, f.dims)]));
    const results = await m.session.run(feeds, request.outputNames);
    send(res, 200, inferResponseJson({ modelName, modelVersion, id: request.id, outputNames: request.outputNames, results, signature: m.signature }));
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://runtime");
    const parts = url.pathname.split("/").filter(Boolean);
    const method = req.method ?? "GET";
    const only = (allowed: string) => {
      if (method === allowed || (allowed === "GET" && method === "HEAD")) return true;
      res.setHeader("allow", allowed === "GET" ? "GET, HEAD" : allowed);
      sendError(res, 405, `${method} is not allowed here; use ${allowed}`);
      return false;
    };
    if (parts[0] !== "v2") return sendError(res, 404, `no such endpoint: ${url.pathname}`);
    if (parts.length === 1) {
      if (only("GET")) send(res, 200, JSON.stringify({ name: "berth-onnx-runtime", version: serverVersion(), extensions: [] }));
      return;
    }
    if (parts[1] === "health" && parts.length === 3 && (parts[2] === "live" || parts[2] === "ready")) {
      if (!only("GET")) return;
      if (parts[2] === "live") return send(res, 200, JSON.stringify({ live: true }));
      const ready = model !== null && !shuttingDown;
      return send(res, ready ? 200 : 503, JSON.stringify({ ready }));
    }
    if (parts[1] !== "models" || parts.length < 3) return sendError(res, 404, `no such endpoint: ${url.pathname}`);
    let name: string;
    let version: string | undefined;
    try {
      name = decodeURIComponent(parts[2]!);
      if (parts[3] === "versions") version = decodeURIComponent(parts[4] ?? "");
    } catch {
      return sendError(res, 400, "the model name in the path is not valid percent-encoding");
    }
    const rest = parts.slice(version === undefined ? 3 : 5);
    if (name !== modelName) return sendError(res, 404, `unknown model "${name}"; this runtime serves "${modelName}"`);
    if (version !== undefined && version !== modelVersion) {
      return sendError(res, 404, `unknown version "${version}" of model "${name}"${modelVersion ? `; this runtime serves version "${modelVersion}"` : "; this runtime serves no versions"}`);
    }
    if (rest.length === 0) {
      if (!only("GET")) return;
      if (!model) return sendError(res, 503, `model "${modelName}" is still loading`);
      return send(res, 200, JSON.stringify(modelMetadata({ name: modelName, version: modelVersion, signature: model.signature })));
    }
    if (rest.length === 1 && rest[0] === "ready") {
      if (!only("GET")) return;
      const ready = model !== null && !shuttingDown;
      return send(res, ready ? 200 : 503, JSON.stringify({ name: modelName, ready }));
    }
    if (rest.length === 1 && rest[0] === "infer") {
      if (!only("POST")) return;
      if (!model) return sendError(res, 503, `model "${modelName}" is still loading`);
      return infer(req, res, model);
    }
    return sendError(res, 404, `no such endpoint: ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    inFlight++;
    res.on("close", () => inFlight--);
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof V2Error) {
        if (error.status === 413) {
          // Answer, then stop reading: discard what the client is still sending for a moment so it sees the answer.
          res.shouldKeepAlive = false;
          res.on("finish", () => {
            req.resume();
            setTimeout(() => req.socket.destroy(), 2000).unref();
          });
        }
        return sendError(res, error.status, error.message);
      }
      // ONNX Runtime refused the tensors (e.g. a value out of an index range) or failed.
      const message = error instanceof Error ? error.message : String(error);
      log("error", "inference failed", { path: req.url, error: message });
      sendError(res, 500, `inference failed: ${message}`);
    });
  });
  server.keepAliveTimeout = 65_000; // longer than a gateway's idle pool timeout, so it never reuses a closing socket
  server.headersTimeout = 70_000;

  const shutdown = (signal: string) => {
    if (shuttingDown) {
      log("info", `${signal} again: exiting now`, { inFlight });
      process.exit(1);
    }
    shuttingDown = true;
    log("info", `${signal}: no new connections; finishing in-flight requests`, { inFlight, timeoutSeconds: shutdownTimeoutMs / 1000 });
    const timer = setTimeout(() => {
      log("error", "shutdown timeout: closing the remaining connections", { inFlight });
      server.closeAllConnections();
    }, shutdownTimeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      const done = () => {
        log("info", "stopped");
        process.exit(0);
      };
      if (model) model.session.release().then(done, done);
      else done();
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  server.listen(port, process.env.HOST || undefined, () => {
    const address = server.address();
    log("info", "listening", { port: typeof address === "object" && address ? address.port : port, model: modelName, modelPath });
  });

  const started = Date.now();
  void (async () => {
    try {
      const ort = await import("onnxruntime-node");
      const threads = Number(process.env.BERTH_INTRA_OP_THREADS ?? 0);
      const bytes = await readFile(modelPath);
      const session = await ort.InferenceSession.create(bytes, threads > 0 ? { intraOpNumThreads: threads } : {});
      const signature = signatureOf(session);
      model = { session, signature, tensorCtor: ort.Tensor };
      const describe = (t: { name: string; datatype: string; shape: number[] }) => `${t.name}:${t.datatype}[${t.shape.join(",")}]`;
      log("info", "model loaded", {
        model: modelName,
        version: modelVersion,
        bytes: bytes.length,
        loadMs: Date.now() - started,
        onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
        inputs: signature.inputs.map(describe),
        outputs: signature.outputs.map(describe),
        ...(signature.skippedOutputs.length > 0 ? { skippedOutputs: signature.skippedOutputs, note: "sequence or map outputs are not served" } : {}),
      });
    } catch (error) {
      log("error", "the model could not be loaded", { modelPath, error: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    }
  })();
}

/** Stamped by the image build (esbuild `define`); "dev" when run from source. */
declare const __BERTH_RUNTIME_VERSION__: string | undefined;
function serverVersion(): string {
  return typeof __BERTH_RUNTIME_VERSION__ === "string" ? __BERTH_RUNTIME_VERSION__ : "dev";
}

main();
