"use client";

import { useState } from "react";

type Tensor = { name: string; type: string; shape: (number | string | null)[] | null };

const V2_TYPES: Record<string, string> = { float32: "FP32", float64: "FP64", float16: "FP16", int64: "INT64", int32: "INT32", int16: "INT16", int8: "INT8", uint8: "UINT8", bool: "BOOL", string: "BYTES" };

function exampleFor(tensor: Tensor): string {
  const dims = (tensor.shape ?? [1]).map((d) => (typeof d === "number" && d > 0 ? d : 1));
  const build = (level: number): unknown => (level === dims.length ? 0 : Array.from({ length: dims[level]! }, () => build(level + 1)));
  return JSON.stringify(build(0));
}

function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

/** A form made from the model's input signature that sends one V2 inference request through Berth's gateway. */
export function TryItPanel({ deployment, model, inputs, ready }: { deployment: string; model: string; inputs: Tensor[]; ready: boolean }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(inputs.map((t) => [t.name, exampleFor(t)])));
  const [result, setResult] = useState<{ status: number; ms: number; body: unknown } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send(event: React.FormEvent) {
    event.preventDefault();
    setError(null);
    const tensors = [];
    for (const tensor of inputs) {
      let data: unknown;
      try {
        data = JSON.parse(values[tensor.name] ?? "");
      } catch {
        return setError(`${tensor.name}: not valid JSON; write a (nested) array such as [[5.1, 3.5, 1.4, 0.2]]`);
      }
      tensors.push({ name: tensor.name, datatype: V2_TYPES[tensor.type] ?? "FP32", shape: shapeOf(data), data: [data].flat(Infinity) });
    }
    setBusy(true);
    const started = performance.now();
    try {
      const response = await fetch(`/api/v1/infer/${deployment}/v2/models/${model}/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: tensors }),
        credentials: "same-origin",
      });
      const body = (await response.json().catch(() => null)) as unknown;
      setResult({ status: response.status, ms: performance.now() - started, body });
    } catch {
      setError("Could not reach Berth.");
    } finally {
      setBusy(false);
    }
  }

  const outputs = (result?.body as { outputs?: { name: string; shape: number[]; datatype: string; data: unknown[] }[] } | null)?.outputs;
  const failure = (result?.body as { error?: { message?: string } | string } | null)?.error;
  return (
    <section aria-label="Try it" className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 className="mb-1 font-semibold">Try it</h2>
      <p className="mb-3 text-sm text-slate-600">
        Sends <code className="text-xs">POST /api/v1/infer/{deployment}/v2/models/{model}/infer</code> through Berth&apos;s gateway, as your clients would with an API token allowed to infer.
      </p>
      {inputs.length === 0 ? <p className="text-sm text-slate-500">This model&apos;s inputs are unknown (only ONNX signatures are read), so there is no form; call the endpoint directly.</p> : null}
      <form onSubmit={send} className="grid gap-3">
        {inputs.map((tensor) => (
          <label key={tensor.name} className="grid gap-1 text-sm">
            <span className="font-medium">
              {tensor.name} <span className="font-normal text-slate-500">{tensor.type} [{(tensor.shape ?? []).map((d) => d ?? "?").join(", ")}]</span>
            </span>
            <textarea
              className="rounded-md border border-slate-300 px-3 py-2 font-mono text-xs"
              rows={3}
              value={values[tensor.name] ?? ""}
              onChange={(e) => setValues({ ...values, [tensor.name]: e.target.value })}
              aria-label={`Input ${tensor.name}`}
            />
          </label>
        ))}
        <div>
          <button type="submit" disabled={busy || !ready || inputs.length === 0} title={ready ? undefined : "No replica is ready yet"} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
            {busy ? "Sending…" : "Send request"}
          </button>
        </div>
      </form>
      {error ? <p role="alert" className="mt-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
      {result ? (
        <div className="mt-3 text-sm" data-testid="try-it-result">
          <p className="mb-2 text-slate-600">HTTP {result.status} in {result.ms.toFixed(0)} ms</p>
          {outputs ? (
            <table className="text-left text-xs">
              <tbody>
                {outputs.map((o) => (
                  <tr key={o.name}>
                    <th scope="row" className="pr-3 align-top font-medium">{o.name}</th>
                    <td className="font-mono" data-testid={`output-${o.name}`}>{JSON.stringify(o.data)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-rose-700">{typeof failure === "string" ? failure : (failure?.message ?? "No outputs in the answer")}</p>
          )}
        </div>
      ) : null}
    </section>
  );
}
