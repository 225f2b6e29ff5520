import { describe, expect, it } from "vitest";
import { inferResponseJson, parseInferRequest, signatureOf, type ModelSignature } from "./v2";

const signature: ModelSignature = {
  inputs: [
    { name: "ids", ortType: "int64", datatype: "INT64", shape: [-1] },
    { name: "mask", ortType: "bool", datatype: "BOOL", shape: [-1] },
    { name: "text", ortType: "string", datatype: "BYTES", shape: [1] },
    { name: "small", ortType: "uint8", datatype: "UINT8", shape: [2] },
  ],
  outputs: [{ name: "out", ortType: "int64", datatype: "INT64", shape: [-1] }],
  skippedOutputs: ["zipmap"],
};
const request = (overrides: Record<string, unknown> = {}) => ({
  inputs: [
    { name: "ids", datatype: "INT64", shape: [2], data: [1, "9007199254740993"] },
    { name: "mask", datatype: "BOOL", shape: [2], data: [true, false] },
    { name: "text", datatype: "BYTES", shape: [1], data: ["héllo"] },
    { name: "small", datatype: "UINT8", shape: [2], data: [0, 255] },
  ],
  ...overrides,
});

describe("V2 request parsing", () => {
  it("converts each datatype, keeping 64-bit integers sent as strings exact", () => {
    const parsed = parseInferRequest(request(), signature);
    expect(parsed.feeds.map((f) => [f.name, f.type, f.dims])).toEqual([
      ["ids", "int64", [2]],
      ["mask", "bool", [2]],
      ["text", "string", [1]],
      ["small", "uint8", [2]],
    ]);
    expect(Array.from(parsed.feeds[0]!.data as BigInt64Array)).toEqual([1n, 9007199254740993n]);
    expect(Array.from(parsed.feeds[1]!.data as Uint8Array)).toEqual([1, 0]);
    expect(parsed.feeds[2]!.data).toEqual(["héllo"]);
    expect(parsed.outputNames).toEqual(["out"]);
  });

  it.each([
    [{ name: "small", datatype: "UINT8", shape: [2], data: [0, 256] }, /element 1 is 256, expected an integer within uint8/],
    [{ name: "small", datatype: "UINT8", shape: [2], data: [0, 1.5] }, /expected an integer within uint8/],
    [{ name: "mask", datatype: "BOOL", shape: [2], data: [1, 0] }, /element 0 is 1, expected true or false/],
    [{ name: "ids", datatype: "INT64", shape: [1], data: ["1e3"] }, /expected an integer/],
    [{ name: "ids", datatype: "INT64", shape: [1], data: ["99999999999999999999"] }, /within int64/],
    [{ name: "text", datatype: "BYTES", shape: [1], data: [null] }, /expected a string/],
    [{ name: "ids", datatype: "INT64", shape: [1] }, /data is missing/],
    [{ name: "ids", datatype: "INT64", shape: [2], data: [[1], [2, 3]] }, /nested deeper than its shape \[2\] at \[0\]/],
  ])("refuses %j", (input, message) => {
    const inputs = request().inputs.map((i) => (i.name === input.name ? input : i));
    expect(() => parseInferRequest({ inputs }, signature)).toThrow(message);
  });

  it("refuses a non-tensor output by name and a binary-data output", () => {
    expect(() => parseInferRequest(request({ outputs: [{ name: "zipmap" }] }), signature)).toThrow(/sequence or map/);
    expect(() => parseInferRequest(request({ outputs: [{ name: "out", parameters: { binary_data: true } }] }), signature)).toThrow(/binary tensor extension/);
    expect(() => parseInferRequest(request({ id: 5 }), signature)).toThrow(/id must be a string/);
  });
});

describe("V2 response encoding", () => {
  it("writes 64-bit integers exactly and booleans as JSON booleans", () => {
    const json = inferResponseJson({
      modelName: "m",
      modelVersion: null,
      id: "x",
      outputNames: ["out", "flags"],
      results: {
        out: { type: "int64", data: BigInt64Array.from([-(2n ** 63n), 9007199254740993n]), dims: [2] },
        flags: { type: "bool", data: Uint8Array.from([1, 0]), dims: [2] },
      },
      signature,
    });
    expect(json).toBe(
      '{"model_name":"m","id":"x","outputs":[{"name":"out","datatype":"INT64","shape":[2],"data":[-9223372036854775808,9007199254740993]},{"name":"flags","datatype":"BOOL","shape":[2],"data":[true,false]}]}',
    );
  });
});

describe("the served signature", () => {
  it("maps symbolic dimensions to -1 and leaves non-tensor outputs out", () => {
    const s = signatureOf({
      inputMetadata: [{ name: "x", isTensor: true, type: "float32", shape: ["N", 4] }],
      outputMetadata: [
        { name: "y", isTensor: true, type: "int64", shape: ["N"] },
        { name: "p", isTensor: false },
      ],
    });
    expect(s).toEqual({
      inputs: [{ name: "x", ortType: "float32", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "y", ortType: "int64", datatype: "INT64", shape: [-1] }],
      skippedOutputs: ["p"],
    });
  });

  it("refuses models it cannot serve", () => {
    expect(() => signatureOf({ inputMetadata: [{ name: "x", isTensor: false }], outputMetadata: [] })).toThrow(/input "x" is not a tensor/);
    expect(() => signatureOf({ inputMetadata: [{ name: "x", isTensor: true, type: "float16", shape: [1] }], outputMetadata: [] })).toThrow(/float16/);
    expect(() => signatureOf({ inputMetadata: [], outputMetadata: [{ name: "p", isTensor: false }] })).toThrow(/no tensor output/);
  });
});
