import { readFileSync } from "node:fs";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { predict, SAMPLE_INPUTS, toOnnx, train, VERSIONS } from "./make-iris-model";

const here = import.meta.dirname;
const expected = JSON.parse(readFileSync(path.join(here, "expected.json"), "utf8"));

describe.each(Object.entries(VERSIONS))("the sample iris model %s", (version, epochs) => {
  const file = path.join(here, `iris-${version}.onnx`);

  it("is what the generator makes (the committed file is current and deterministic)", () => {
    expect(Buffer.from(toOnnx(train(epochs), version)).equals(readFileSync(file))).toBe(true);
  });

  it("classifies the iris data set well", () => {
    expect(expected[version].trainingAccuracy).toBeGreaterThanOrEqual(0.95);
  });

  it("gives the expected outputs when run by ONNX Runtime", async () => {
    const session = await ort.InferenceSession.create(readFileSync(file));
    expect(session.inputNames).toEqual(["input"]);
    expect(session.outputNames).toEqual(["label", "probabilities"]);
    const input = new ort.Tensor("float32", Float32Array.from(SAMPLE_INPUTS.flat()), [SAMPLE_INPUTS.length, 4]);
    const result = await session.run({ input });
    const labels = Array.from(result.label!.data as BigInt64Array, Number);
    const probabilities = Array.from(result.probabilities!.data as Float32Array);
    const want = expected[version].outputs as { label: number; probabilities: number[] }[];
    expect(labels).toEqual(want.map((o) => o.label));
    want.forEach((o, i) => o.probabilities.forEach((p, k) => expect(probabilities[i * 3 + k]).toBeCloseTo(p, 5)));
    // And the JS reference agrees with itself on the committed expectations.
    SAMPLE_INPUTS.forEach((x, i) => expect(predict(train(epochs), x).label).toBe(want[i]!.label));
    await session.release();
  });
});
