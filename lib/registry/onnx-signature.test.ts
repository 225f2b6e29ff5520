import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { OnnxParseError, readOnnxSignature } from "./onnx-signature";

const { onnx } = onnxProto;
const samples = path.resolve(import.meta.dirname, "../../samples/iris");
const scratch = mkdtempSync(path.join(os.tmpdir(), "berth-onnx-"));

function write(name: string, bytes: Uint8Array) {
  const file = path.join(scratch, name);
  writeFileSync(file, bytes);
  return file;
}

describe("readOnnxSignature", () => {
  it("reads the sample iris model's inputs and outputs", async () => {
    const signature = await readOnnxSignature(path.join(samples, "iris-v1.onnx"));
    expect(signature).toEqual({
      irVersion: 8,
      producer: "berth-samples v1",
      opsets: [{ domain: "", version: 13 }],
      inputs: [{ name: "input", type: "float32", shape: ["N", 4] }],
      outputs: [
        { name: "label", type: "int64", shape: ["N"] },
        { name: "probabilities", type: "float32", shape: ["N", 3] },
      ],
    });
  });

  it("skips weights by seeking: a model with 64 MiB of weights parses, and old-style weight inputs are dropped", async () => {
    const weights = randomBytes(64 * 1024 * 1024);
    const model = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 3,
        opsetImport: [{ domain: "", version: 9 }],
        graph: {
          name: "big",
          initializer: [{ name: "W", dims: [weights.length / 4], dataType: 1, rawData: weights }],
          input: [
            { name: "x", type: { tensorType: { elemType: 11, shape: { dim: [{ dimValue: 1 }, { dimParam: "T" }, {}] } } } },
            { name: "W", type: { tensorType: { elemType: 1 } } },
          ],
          output: [{ name: "y", type: { sequenceType: {} } }],
        },
      }),
    ).finish();
    const before = process.memoryUsage().rss;
    const signature = await readOnnxSignature(write("big.onnx", model));
    expect(signature.inputs).toEqual([{ name: "x", type: "float64", shape: [1, "T", null] }]);
    expect(signature.outputs).toEqual([{ name: "y", type: "sequence", shape: null }]);
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024);
  });

  it("refuses files that are not ONNX: empty, text, random bytes, truncated", async () => {
    const real = (await import("node:fs")).readFileSync(path.join(samples, "iris-v1.onnx"));
    for (const [name, bytes] of [
      ["empty.onnx", new Uint8Array()],
      ["text.onnx", Buffer.from("this is not a model, just some text\n")],
      ["random.onnx", randomBytes(4096)],
      ["truncated.onnx", real.subarray(0, real.length - 40)],
    ] as const) {
      await expect(readOnnxSignature(write(name, bytes)), name).rejects.toBeInstanceOf(OnnxParseError);
    }
  });
});
