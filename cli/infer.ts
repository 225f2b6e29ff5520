import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { apiErrorMessage, callApi, CliError, connectionFrom, type Connection } from "./http";

/**
 * `berth infer DEPLOYMENT --input JSON`: one Open Inference Protocol (V2)
 * request through the gateway. `--input` is a whole V2 body
 * (`{"inputs": [...]}`) or the shorthand `{"<input name>": [[...]]}`, whose
 * datatype and shape are read off the nested arrays (and the model's
 * signature when the deployment reports one).
 */
type Global = { url?: string; token?: string };

export type TensorSpec = { name: string; elemType?: string; shape?: (number | string | null)[] };
export type DeploymentInfo = { deployment: { name: string; model: { name: string; version?: string | number; signature?: { inputs?: TensorSpec[]; outputs?: TensorSpec[] } | null } } };
export type V2Tensor = { name: string; datatype: string; shape: number[]; data: unknown[] };
export type V2Request = { inputs: V2Tensor[]; [key: string]: unknown };
export type V2Response = { model_name?: string; model_version?: string; id?: string; outputs?: V2Tensor[] };

const FLOAT_TYPES = /^(float|double|f16|f32|f64|bfloat|fp)/i;

/** Shape and flat data of a nested, rectangular array. */
export function shapeOf(value: unknown, where: string): { shape: number[]; data: unknown[] } {
  if (!Array.isArray(value)) return { shape: [], data: [value] };
  if (value.length === 0) return { shape: [0], data: [] };
  const parts = value.map((item, i) => shapeOf(item, `${where}[${i}]`));
  const inner = parts[0]!.shape;
  for (const [i, part] of parts.entries()) {
    if (part.shape.join(",") !== inner.join(",")) throw new CliError(`${where}: not rectangular (item ${i} has shape [${part.shape.join(",")}], item 0 has [${inner.join(",")}])`, 2);
  }
  return { shape: [value.length, ...inner], data: parts.flatMap((p) => p.data) };
}

/** FP32 for any fractional number (or a float input in the signature), INT64 for integers, BOOL, BYTES for strings. */
export function datatypeOf(data: unknown[], declared: string | undefined, where: string): string {
  if (data.every((v) => typeof v === "boolean")) return "BOOL";
  if (data.every((v) => typeof v === "string")) return "BYTES";
  if (!data.every((v) => typeof v === "number" && Number.isFinite(v))) throw new CliError(`${where}: one input cannot mix numbers, booleans and strings`, 2);
  if (declared && FLOAT_TYPES.test(declared)) return "FP32";
  return data.length > 0 && data.every((v) => Number.isInteger(v)) ? "INT64" : "FP32";
}

export function isFullRequest(input: unknown): input is V2Request {
  return typeof input === "object" && input !== null && Array.isArray((input as { inputs?: unknown }).inputs);
}

/** The V2 request body for `--input`. */
export function buildInferRequest(input: unknown, signature?: { inputs?: TensorSpec[] } | null): V2Request {
  if (isFullRequest(input)) return input;
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new CliError('--input must be a JSON object: a V2 body {"inputs": [...]} or {"<input name>": [[...]]}', 2);
  }
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) throw new CliError("--input names no input", 2);
  const known = signature?.inputs?.map((i) => i.name);
  return {
    inputs: entries.map(([name, value]) => {
      if (known && known.length > 0 && !known.includes(name)) throw new CliError(`the model has no input called ${name}; its inputs are ${known.join(", ")}`, 2);
      const { shape, data } = shapeOf(value, name);
      const declared = signature?.inputs?.find((i) => i.name === name)?.elemType;
      return { name, datatype: datatypeOf(data, declared, name), shape: shape.length === 0 ? [1] : shape, data };
    }),
  };
}

/** Outputs for people: one block per output, a 2-D tensor row by row. */
export function formatOutputs(response: V2Response): string {
  const lines: string[] = [];
  if (response.model_name) lines.push(`model ${response.model_name}${response.model_version ? ` (version ${response.model_version})` : ""}`);
  for (const output of response.outputs ?? []) {
    lines.push(`${output.name}  ${output.datatype} [${output.shape.join(", ")}]`);
    const data = Array.isArray(output.data) ? output.data : [];
    const width = output.shape.length >= 2 ? output.shape.slice(1).reduce((a, b) => a * b, 1) : data.length;
    if (width <= 0) {
      lines.push("  (empty)");
      continue;
    }
    for (let i = 0; i < data.length; i += width) lines.push(`  ${data.slice(i, i + width).map((v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v)).join("  ")}`);
  }
  return `${lines.join("\n")}\n`;
}

function parseInput(raw: string): unknown {
  const text = raw.startsWith("@") ? readFileSync(raw.slice(1), "utf8") : raw;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--input is not valid JSON: ${(error as Error).message}`, 2);
  }
}

async function deploymentInfo(connection: Connection, name: string): Promise<DeploymentInfo | null> {
  try {
    return await callApi<DeploymentInfo>(connection, "GET", `/api/v1/deployments/${encodeURIComponent(name)}`);
  } catch {
    return null;
  }
}

export async function runInfer(
  connection: Connection,
  deployment: string,
  options: { input: string; model?: string; raw?: boolean; json?: boolean },
  out: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<void> {
  const input = parseInput(options.input);
  const needsInfo = !options.model || !isFullRequest(input);
  const info = needsInfo ? await deploymentInfo(connection, deployment) : null;
  const model = options.model ?? info?.deployment.model.name;
  if (!model) throw new CliError(`cannot read deployment ${deployment}'s model; pass --model NAME`, 2);
  const body = buildInferRequest(input, info?.deployment.model.signature);
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (connection.token) headers.authorization = `Bearer ${connection.token}`;
  const url = `${connection.url}/api/v1/infer/${encodeURIComponent(deployment)}/v2/models/${encodeURIComponent(model)}/infer`;
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new CliError(`cannot reach Berth at ${connection.url}${cause ? ` (${cause})` : ""}; check --url or BERTH_URL`);
  }
  const text = await response.text();
  if (!response.ok) throw new CliError(apiErrorMessage(response.status, text, connection));
  if (options.raw) return out(text.endsWith("\n") ? text : `${text}\n`);
  let parsed: V2Response;
  try {
    parsed = JSON.parse(text) as V2Response;
  } catch {
    throw new CliError(`the runtime answered with something other than JSON (use --raw to see it): ${text.slice(0, 200)}`);
  }
  if (options.json) return out(`${JSON.stringify(parsed, null, 2)}\n`);
  out(formatOutputs(parsed));
}

export function registerInferCommand(program: Command): void {
  program
    .command("infer")
    .description("Send an inference request (Open Inference Protocol V2) to a deployment through the gateway")
    .argument("<deployment>", "the deployment's name")
    .requiredOption("--input <json>", 'a V2 body {"inputs":[...]}, or {"<input>": [[...]]} (datatype and shape inferred); @FILE reads a file')
    .option("--model <name>", "the model name in the V2 path (default: the deployment's model)")
    .option("--raw", "print the runtime's response body as it came")
    .option("--json", "print the response as JSON")
    .addHelpText("after", '\nExample:\n  berth infer iris --input \'{"input": [[5.1, 3.5, 1.4, 0.2]]}\'\nNeeds a token created with --infer.')
    .action(async (deployment: string, options: { input: string; model?: string; raw?: boolean; json?: boolean }, command: Command) => {
      await runInfer(connectionFrom(command.optsWithGlobals<Global>()), deployment, options);
    });
}
