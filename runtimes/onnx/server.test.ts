import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IRIS_V1, REPO_ROOT, startServer, waitReady, type RunningServer } from "./test-support";

const expected = JSON.parse(readFileSync(path.join(REPO_ROOT, "samples/iris/expected.json"), "utf8")) as {
  inputs: number[][];
  v1: { outputs: { label: number; probabilities: number[] }[] };
};

type V2Output = { name: string; datatype: string; shape: number[]; data: unknown[] };

async function infer(url: string, body: unknown, model = "iris") {
  const res = await fetch(`${url}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; outputs?: V2Output[]; id?: string; model_name?: string; model_version?: string } };
}

const irisInput = (data: unknown, shape = [expected.inputs.length, 4]) => ({ inputs: [{ name: "input", datatype: "FP32", shape, data }] });

describe("the ONNX runtime server with the iris sample", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ BERTH_MODEL_PATH: IRIS_V1, BERTH_MODEL_NAME: "iris", BERTH_MODEL_VERSION: "1" });
    await waitReady(server.url);
  }, 30_000);
  afterAll(() => server?.stop());

  it("answers health and metadata", async () => {
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/iris/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/iris/versions/1/ready`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/v2`)).json()).toMatchObject({ name: "berth-onnx-runtime", extensions: [] });
    expect(await (await fetch(`${server.url}/v2/models/iris`)).json()).toEqual({
      name: "iris",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "label", datatype: "INT64", shape: [-1] },
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      ],
    });
    const loaded = server.lines.map((l) => JSON.parse(l) as { msg: string; inputs?: string[]; outputs?: string[] }).find((l) => l.msg === "model loaded");
    expect(loaded).toMatchObject({ inputs: ["input:FP32[-1,4]"], outputs: ["label:INT64[-1]", "probabilities:FP32[-1,3]"] });
  });

  it("predicts the expected labels and probabilities, from nested or flat data", async () => {
    for (const data of [expected.inputs, expected.inputs.flat()]) {
      const { status, body } = await infer(server.url, { id: "req-1", ...irisInput(data) });
      expect(status).toBe(200);
      expect(body.model_name).toBe("iris");
      expect(body.model_version).toBe("1");
      expect(body.id).toBe("req-1");
      const [label, probabilities] = body.outputs!;
      expect(label).toEqual({ name: "label", datatype: "INT64", shape: [5], data: expected.v1.outputs.map((o) => o.label) });
      expect(probabilities).toMatchObject({ name: "probabilities", datatype: "FP32", shape: [5, 3] });
      expected.v1.outputs.flatMap((o) => o.probabilities).forEach((p, i) => expect(probabilities!.data[i]).toBeCloseTo(p, 6));
    }
  });

  it("returns only the requested outputs, by the versioned path too", async () => {
    const res = await fetch(`${server.url}/v2/models/iris/versions/1/infer`, {
      method: "POST",
      body: JSON.stringify({ ...irisInput([expected.inputs[2]], [1, 4]), outputs: [{ name: "label" }] }),
    });
    expect(await res.json()).toEqual({ model_name: "iris", model_version: "1", outputs: [{ name: "label", datatype: "INT64", shape: [1], data: [2] }] });
  });

  it("takes an empty batch", async () => {
    const { status, body } = await infer(server.url, irisInput([], [0, 4]));
    expect(status).toBe(200);
    expect(body.outputs![0]).toEqual({ name: "label", datatype: "INT64", shape: [0], data: [] });
  });

  const one = [5.1, 3.5, 1.4, 0.2];
  it.each([
    ["unknown input name", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: one }] }, 400, /unknown input "x".*"input"/],
    ["wrong datatype", { inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: one }] }, 400, /datatype FP64 does not match the model's FP32/],
    ["shape and data length differ", irisInput(one, [2, 4]), 400, /holds 8 elements but data has 4/],
    ["shape of the wrong rank", irisInput(one, [4]), 400, /shape \[4\] does not fit the model's \[-1, 4\]/],
    ["a fixed dimension differs", irisInput([1, 2, 3], [1, 3]), 400, /does not fit/],
    ["nested data not matching the shape", irisInput([[1, 2, 3, 4], [5, 6, 7]], [2, 4]), 400, /nested data does not match shape \[2, 4\] at \[1\]/],
    ["a string where a number belongs", irisInput(["5.1", 3.5, 1.4, 0.2], [1, 4]), 400, /element 0 is "5.1", expected a number/],
    ["negative shape", irisInput(one, [-1, 4]), 400, /non-negative integers/],
    ["missing input", { inputs: [] }, 400, /missing input "input"/],
    ["input twice", { inputs: [irisInput(one, [1, 4]).inputs[0], irisInput(one, [1, 4]).inputs[0]] }, 400, /given twice/],
    ["no inputs array", { id: "x" }, 400, /inputs must be an array/],
    ["unknown output", { ...irisInput(one, [1, 4]), outputs: [{ name: "logits" }] }, 400, /unknown output "logits"/],
    ["malformed JSON", '{"inputs": [', 400, /not valid JSON/],
    ["a JSON array body", "[]", 400, /must be a JSON object/],
  ])("refuses %s", async (_, body, status, message) => {
    const res = await infer(server.url, body);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
  });

  it("answers 404 for an unknown model, version or path and 405 for a wrong method", async () => {
    const unknown = await infer(server.url, irisInput(one, [1, 4]), "nope");
    expect(unknown).toEqual({ status: 404, body: { error: 'unknown model "nope"; this runtime serves "iris"' } });
    expect((await fetch(`${server.url}/v2/models/iris/versions/2`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2/models/..%2Firis`)).status).toBe(404);
    expect((await fetch(`${server.url}/v2/models/%E0%A4%A/infer`, { method: "POST", body: "{}" })).status).toBe(400);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const wrong = await fetch(`${server.url}/v2/models/iris/infer`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(((await wrong.json()) as { error: string }).error).toMatch(/use POST/);
  });

  it("refuses a body over 64 MiB with 413, by declared length and while streaming", async () => {
    const declared = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${server.url}/v2/models/iris/infer`, { method: "POST", headers: { "content-length": String(65 * 1024 * 1024) } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error).toMatch(/over the 67108864 byte limit/);

    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${server.url}/v2/models/iris/infer`, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" || error.code === "ECONNRESET" ? undefined : reject(error)));
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 70 && req.write(chunk)) sent++;
        if (sent < 70) req.once("drain", () => (sent++, pump()));
        else req.end();
      };
      pump();
    });
    expect(streamed.status).toBe(413);
    // The server is still fine afterwards.
    expect((await infer(server.url, irisInput(one, [1, 4]))).status).toBe(200);
  });
});

describe("the ONNX runtime server's lifecycle", () => {
  it("finishes an in-flight request on SIGTERM, refuses new connections, then exits 0", async () => {
    const server = await startServer({ BERTH_MODEL_PATH: IRIS_V1, BERTH_MODEL_NAME: "iris" });
    try {
      await waitReady(server.url);
      const body = JSON.stringify(irisInput([expected.inputs[0]], [1, 4]));
      const half = Math.floor(body.length / 2);
      let req!: http.ClientRequest;
      const response = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
        req = http.request(`${server.url}/v2/models/iris/infer`, { method: "POST", headers: { "content-length": String(Buffer.byteLength(body)) } }, (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode!, body: text, connection: res.headers.connection }));
        });
        req.on("error", reject);
      });
      // Half the body is on the wire: the request is in flight when the signal arrives.
      await new Promise<void>((r) => req.write(body.slice(0, half), () => r()));
      await new Promise((r) => setTimeout(r, 100));
      server.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      await expect(fetch(`${server.url}/v2/health/live`)).rejects.toThrow();
      req.end(body.slice(half));
      const answer = await response;
      expect(answer.status).toBe(200);
      expect(answer.connection).toBe("close");
      expect(JSON.parse(answer.body).outputs[0].data).toEqual([0]);
      expect(await server.exited).toBe(0);
      expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it("gives up on a request that never finishes after BERTH_SHUTDOWN_TIMEOUT_SECONDS and exits 0", async () => {
    const server = await startServer({ BERTH_MODEL_PATH: IRIS_V1, BERTH_SHUTDOWN_TIMEOUT_SECONDS: "1" });
    try {
      await waitReady(server.url);
      const req = http.request(`${server.url}/v2/models/iris-v1/infer`, { method: "POST", headers: { "content-length": "1000" } });
      req.on("error", () => {});
      req.write("{");
      await new Promise((r) => setTimeout(r, 100));
      const signalled = Date.now();
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
      expect(Date.now() - signalled).toBeLessThan(5000);
      expect(server.lines.some((l) => l.includes("shutdown timeout"))).toBe(true);
    } finally {
      await server.stop();
    }
  }, 30_000);

  it("exits 1 with one error line when the model cannot be loaded", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "berth-onnx-"));
    try {
      writeFileSync(path.join(dir, "broken.onnx"), "not a model");
      const server = await startServer({ BERTH_MODEL_PATH: path.join(dir, "broken.onnx") });
      expect(await server.exited).toBe(1);
      const error = server.lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.level === "error");
      expect(error?.msg).toBe("the model could not be loaded");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

/**
 * A scikit-learn-style classifier head: `scores` (a tensor) and `probabilities`
 * through ZipMap (a sequence of maps, as skl2onnx writes by default).
 */
function zipMapModel(): Uint8Array {
  const { onnx } = onnxProto;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;
  const shape = { dim: [{ dimParam: "N" }, { dimValue: 3 }] };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: "berth-tests",
      opsetImport: [
        { domain: "", version: 13 },
        { domain: "ai.onnx.ml", version: 1 },
      ],
      graph: {
        name: "zipmap",
        node: [
          { opType: "Identity", input: ["x"], output: ["scores"], name: "identity" },
          {
            opType: "ZipMap",
            domain: "ai.onnx.ml",
            input: ["x"],
            output: ["probabilities"],
            name: "zipmap",
            attribute: [{ name: "classlabels_int64s", type: onnx.AttributeProto.AttributeType.INTS, ints: [0, 1, 2] }],
          },
        ],
        input: [{ name: "x", type: { tensorType: { elemType: FLOAT, shape } } }],
        output: [
          { name: "scores", type: { tensorType: { elemType: FLOAT, shape } } },
          { name: "probabilities", type: { sequenceType: { elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } } } } },
        ],
      },
    }),
  ).finish();
}

describe("a model with a non-tensor output (ZipMap's sequence of maps)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-onnx-"));
  let server: RunningServer;
  beforeAll(async () => {
    writeFileSync(path.join(dir, "zipmap.onnx"), zipMapModel());
    server = await startServer({ BERTH_MODEL_PATH: path.join(dir, "zipmap.onnx"), BERTH_MODEL_NAME: "clf" });
    await waitReady(server.url);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the tensor outputs, leaves the sequence out of the metadata, and says so at load", async () => {
    const meta = (await (await fetch(`${server.url}/v2/models/clf`)).json()) as { outputs: unknown[] };
    expect(meta.outputs).toEqual([{ name: "scores", datatype: "FP32", shape: [-1, 3] }]);
    expect(server.lines.find((l) => l.includes("model loaded"))).toMatch(/"skippedOutputs":\["probabilities"\],"note":"sequence or map outputs are not served"/);
    const { status, body } = await infer(server.url, { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [0.25, 0.5, 0.25] }] }, "clf");
    expect(status).toBe(200);
    expect(body.outputs).toEqual([{ name: "scores", datatype: "FP32", shape: [1, 3], data: [0.25, 0.5, 0.25] }]);
  });

  it("refuses a request for the sequence output by name", async () => {
    const { status, body } = await infer(server.url, { inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }], outputs: [{ name: "probabilities" }] }, "clf");
    expect(status).toBe(400);
    expect(body.error).toMatch(/"probabilities" is an ONNX sequence or map, not a tensor/);
  });
});
