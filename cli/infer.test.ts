import { describe, expect, it } from "vitest";
import { buildInferRequest, formatOutputs, shapeOf } from "./infer";

describe("berth infer --input", () => {
  it("passes a whole V2 body through unchanged", () => {
    const body = { inputs: [{ name: "x", datatype: "FP64", shape: [1, 2], data: [1, 2] }], parameters: { a: 1 } };
    expect(buildInferRequest(body)).toBe(body);
  });

  it("reads datatype and shape off the shorthand's nested arrays", () => {
    expect(buildInferRequest({ input: [[5.1, 3.5, 1.4, 0.2], [6, 2.9, 4.5, 1.5]] })).toEqual({
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6, 2.9, 4.5, 1.5] }],
    });
    expect(buildInferRequest({ ids: [[1, 2, 3]] }).inputs[0]).toMatchObject({ datatype: "INT64", shape: [1, 3] });
    expect(buildInferRequest({ flag: [true, false] }).inputs[0]).toMatchObject({ datatype: "BOOL", shape: [2] });
    expect(buildInferRequest({ scalar: 3 }).inputs[0]).toMatchObject({ datatype: "INT64", shape: [1], data: [3] });
  });

  it("takes a float input's type from the signature even when the numbers are whole", () => {
    const signature = { inputs: [{ name: "input", elemType: "float32", shape: [null, 4] }] };
    expect(buildInferRequest({ input: [[5, 3, 1, 0]] }, signature).inputs[0]?.datatype).toBe("FP32");
    expect(() => buildInferRequest({ nope: [[1]] }, signature)).toThrow(/no input called nope; its inputs are input/);
  });

  it("refuses ragged arrays and mixed types", () => {
    expect(() => shapeOf([[1, 2], [3]], "x")).toThrow(/not rectangular/);
    expect(() => buildInferRequest({ x: [1, "a"] })).toThrow(/cannot mix/);
    expect(() => buildInferRequest([1, 2])).toThrow(/JSON object/);
  });
});

describe("berth infer output", () => {
  it("prints a 2-D output row by row", () => {
    const text = formatOutputs({
      model_name: "iris",
      outputs: [
        { name: "label", datatype: "INT64", shape: [2], data: [0, 2] },
        { name: "probabilities", datatype: "FP32", shape: [2, 3], data: [0.9, 0.05, 0.05, 0.0123456789, 0.1, 0.8876543211] },
      ],
    });
    expect(text).toBe("model iris\nlabel  INT64 [2]\n  0  2\nprobabilities  FP32 [2, 3]\n  0.9  0.05  0.05\n  0.0123457  0.1  0.887654\n");
  });
});
