/**
 * The Open Inference Protocol V2 (KServe V2) REST shapes for one ONNX model:
 * metadata, request validation and response encoding. Pure: no I/O and no
 * onnxruntime import (only its types), so it is unit-tested on its own and
 * bundled into the runtime image by esbuild with the server.
 */
import type { InferenceSession, Tensor } from "onnxruntime-node";

/** A request the client got wrong: rendered as 400 (or `status`) `{"error": message}`. */
export class V2Error extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** ONNX Runtime tensor element type → V2 datatype name. Types missing here are not served. */
const V2_DATATYPE: Partial<Record<Tensor.Type, string>> = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

export type TensorInfo = { name: string; ortType: Tensor.Type; datatype: string; shape: number[] };
export type ModelSignature = {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Outputs that are not tensors (ONNX sequences or maps, e.g. scikit-learn's ZipMap): not served. */
  skippedOutputs: string[];
};

/**
 * The served signature from ONNX Runtime's metadata. Symbolic or unknown
 * dimensions become -1. Throws (the model cannot be served) when an input is
 * not a tensor of a supported type, or when no output is.
 */
export function signatureOf(session: Pick<InferenceSession, "inputMetadata" | "outputMetadata">): ModelSignature {
  const info = (m: InferenceSession.ValueMetadata, kind: string): TensorInfo | null => {
    if (!m.isTensor) return null;
    const datatype = V2_DATATYPE[m.type];
    if (!datatype) throw new Error(`${kind} "${m.name}" has element type ${m.type}, which this runtime does not serve`);
    return { name: m.name, ortType: m.type, datatype, shape: m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1)) };
  };
  const inputs = session.inputMetadata.map((m) => {
    const t = info(m, "input");
    if (!t) throw new Error(`input "${m.name}" is not a tensor (an ONNX sequence or map); this runtime takes tensor inputs only`);
    return t;
  });
  const outputs: TensorInfo[] = [];
  const skippedOutputs: string[] = [];
  for (const m of session.outputMetadata) {
    const t = info(m, "output");
    if (t) outputs.push(t);
    else skippedOutputs.push(m.name);
  }
  if (outputs.length === 0) throw new Error("the model has no tensor output; this runtime serves tensor outputs only");
  return { inputs, outputs, skippedOutputs };
}

export function modelMetadata(options: { name: string; version: string | null; signature: ModelSignature }) {
  const { name, version, signature } = options;
  const tensor = (t: TensorInfo) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name,
    versions: version ? [version] : [],
    platform: "onnxruntime_onnx",
    inputs: signature.inputs.map(tensor),
    outputs: signature.outputs.map(tensor),
  };
}

/** What `session.run` gets: one feed per model input and the outputs to fetch. */
export type ParsedInferRequest = {
  id: string | undefined;
  feeds: { name: string; type: Tensor.Type; data: Tensor.DataType; dims: number[] }[];
  outputNames: string[];
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const INT_RANGE: Partial<Record<Tensor.Type, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Flattens `data` (flat, or nested to match `shape`) and checks every element's JSON type. */
function flatten(data: unknown, shape: number[], input: string): unknown[] {
  if (!Array.isArray(data)) throw new V2Error(400, `input "${input}": data must be an array`);
  const nested = data.length > 0 && Array.isArray(data[0]);
  if (!nested) return data;
  const out: unknown[] = [];
  const walk = (v: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new V2Error(400, `input "${input}": data is nested deeper than its shape [${shape.join(", ")}] at ${at}`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new V2Error(400, `input "${input}": nested data does not match shape [${shape.join(", ")}] at ${at || "the top level"} (expected ${shape[depth]} elements)`);
    }
    v.forEach((e, i) => walk(e, depth + 1, `${at}[${i}]`));
  };
  walk(data, 0, "");
  return out;
}

function toTypedData(values: unknown[], type: Tensor.Type, input: string): Tensor.DataType {
  const bad = (i: number, want: string): never => {
    throw new V2Error(400, `input "${input}": element ${i} is ${JSON.stringify(values[i]) ?? typeof values[i]}, expected ${want}`);
  };
  switch (type) {
    case "float32":
    case "float64": {
      const out = type === "float32" ? new Float32Array(values.length) : new Float64Array(values.length);
      values.forEach((v, i) => (typeof v === "number" ? (out[i] = v) : bad(i, "a number")));
      return out;
    }
    case "int64":
    case "uint64": {
      const out = type === "int64" ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
      const [min, max] = type === "int64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      values.forEach((v, i) => {
        // Integers beyond 2^53 arrive as JSON numbers that have already lost precision; strings keep them exact.
        const big = typeof v === "number" && Number.isInteger(v) ? BigInt(v) : typeof v === "string" && /^-?\d{1,20}$/.test(v) ? BigInt(v) : bad(i, "an integer");
        if (big < min || big > max) bad(i, `an integer within ${type}`);
        out[i] = big;
      });
      return out;
    }
    case "bool": {
      const out = new Uint8Array(values.length);
      values.forEach((v, i) => (typeof v === "boolean" ? (out[i] = v ? 1 : 0) : bad(i, "true or false")));
      return out;
    }
    case "string":
      return values.map((v, i) => (typeof v === "string" ? v : bad(i, "a string")));
    default: {
      const range = INT_RANGE[type];
      if (!range) throw new V2Error(400, `input "${input}": element type ${type} is not served`);
      const Ctor = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array }[type as "int8"];
      const out = new Ctor(values.length);
      values.forEach((v, i) => (typeof v === "number" && Number.isInteger(v) && v >= range[0] && v <= range[1] ? (out[i] = v) : bad(i, `an integer within ${type}`)));
      return out;
    }
  }
}

/** Validates a V2 infer request body (already JSON-parsed) against the model's signature. */
export function parseInferRequest(body: unknown, signature: ModelSignature): ParsedInferRequest {
  if (!isObject(body)) throw new V2Error(400, "the request body must be a JSON object");
  if (body.id !== undefined && typeof body.id !== "string") throw new V2Error(400, "id must be a string");
  if (!Array.isArray(body.inputs)) throw new V2Error(400, "inputs must be an array");
  const seen = new Set<string>();
  const feeds = body.inputs.map((raw, index): ParsedInferRequest["feeds"][number] => {
    if (!isObject(raw)) throw new V2Error(400, `inputs[${index}] must be an object`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== "string") throw new V2Error(400, `inputs[${index}].name must be a string`);
    const model = signature.inputs.find((t) => t.name === name);
    if (!model) throw new V2Error(400, `unknown input "${name}"; the model's inputs are ${signature.inputs.map((t) => `"${t.name}"`).join(", ")}`);
    if (seen.has(name)) throw new V2Error(400, `input "${name}" is given twice`);
    seen.add(name);
    if (typeof datatype !== "string") throw new V2Error(400, `input "${name}": datatype must be a string`);
    if (datatype !== model.datatype) throw new V2Error(400, `input "${name}": datatype ${datatype} does not match the model's ${model.datatype}`);
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
      throw new V2Error(400, `input "${name}": shape must be an array of non-negative integers`);
    }
    const dims = shape as number[];
    const fits = model.shape.length === 0 || (dims.length === model.shape.length && model.shape.every((d, i) => d === -1 || d === dims[i]));
    if (!fits) throw new V2Error(400, `input "${name}": shape [${dims.join(", ")}] does not fit the model's [${model.shape.join(", ")}] (-1: any size)`);
    if (data === undefined) throw new V2Error(400, `input "${name}": data is missing (the binary tensor extension is not supported)`);
    const values = flatten(data, dims, name);
    const count = dims.reduce((a, d) => a * d, 1);
    if (values.length !== count) throw new V2Error(400, `input "${name}": shape [${dims.join(", ")}] holds ${count} elements but data has ${values.length}`);
    return { name, type: model.ortType, data: toTypedData(values, model.ortType, name), dims };
  });
  const missing = signature.inputs.filter((t) => !seen.has(t.name));
  if (missing.length > 0) throw new V2Error(400, `missing input ${missing.map((t) => `"${t.name}"`).join(", ")}`);

  let outputNames = signature.outputs.map((t) => t.name);
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs) || body.outputs.length === 0) throw new V2Error(400, "outputs must be a non-empty array when given");
    outputNames = body.outputs.map((raw, index) => {
      if (!isObject(raw) || typeof raw.name !== "string") throw new V2Error(400, `outputs[${index}].name must be a string`);
      if (isObject(raw.parameters) && raw.parameters.binary_data === true) throw new V2Error(400, "the binary tensor extension is not supported");
      if (signature.skippedOutputs.includes(raw.name)) {
        throw new V2Error(400, `output "${raw.name}" is an ONNX sequence or map, not a tensor; this runtime serves tensor outputs only`);
      }
      if (!signature.outputs.some((t) => t.name === raw.name)) {
        throw new V2Error(400, `unknown output "${raw.name}"; the model's outputs are ${signature.outputs.map((t) => `"${t.name}"`).join(", ")}`);
      }
      return raw.name;
    });
    if (new Set(outputNames).size !== outputNames.length) throw new V2Error(400, "an output is requested twice");
  }
  return { id: body.id, feeds, outputNames };
}

/**
 * The JSON of one output tensor's flat data. 64-bit integers are written as
 * exact JSON numbers (JSON.stringify cannot write a BigInt); NaN and infinities,
 * which JSON cannot hold, become null.
 */
function dataJson(tensor: Pick<Tensor, "type" | "data">): string {
  const { data } = tensor;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return `[${Array.from(data, String).join(",")}]`;
  if (tensor.type === "bool") return JSON.stringify(Array.from(data as Uint8Array, (v) => v !== 0));
  return JSON.stringify(Array.from(data as ArrayLike<number | string>));
}

/** The V2 infer response body as JSON text, outputs in the requested order. */
export function inferResponseJson(options: {
  modelName: string;
  modelVersion: string | null;
  id: string | undefined;
  outputNames: string[];
  results: Record<string, Pick<Tensor, "type" | "data" | "dims">>;
  signature: ModelSignature;
}): string {
  const { modelName, modelVersion, id, outputNames, results, signature } = options;
  const head: Record<string, string> = { model_name: modelName };
  if (modelVersion) head.model_version = modelVersion;
  if (id !== undefined) head.id = id;
  const outputs = outputNames.map((name) => {
    const tensor = results[name];
    if (!tensor) throw new Error(`ONNX Runtime returned no output "${name}"`);
    const datatype = signature.outputs.find((t) => t.name === name)?.datatype ?? V2_DATATYPE[tensor.type] ?? tensor.type;
    return `{"name":${JSON.stringify(name)},"datatype":${JSON.stringify(datatype)},"shape":${JSON.stringify(Array.from(tensor.dims))},"data":${dataJson(tensor)}}`;
  });
  return `${JSON.stringify(head).slice(0, -1)},"outputs":[${outputs.join(",")}]}`;
}
