import path from "node:path";
import { Option, type Command } from "commander";
import { FORMATS } from "@/lib/registry/schemas";
import type { ModelView } from "@/lib/registry/models";
import type { VersionView } from "@/lib/registry/versions";
import { callApi, CliError, connectionFrom } from "./http";
import { keyValues } from "./args";
import { printJson, printTable } from "./output";
import { downloadFile, uploadFile } from "./transfer";

type Global = { url?: string; token?: string };
const connection = (command: Command) => connectionFrom(command.optsWithGlobals<Global>());

function human(bytes: number) {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MiB` : `${bytes} B`;
}

/** MODEL@VERSION, as `berth deploy` will take it too. */
function splitRef(ref: string): { model: string; version: string } {
  const [model, version] = ref.split("@");
  if (!model || !version) throw new CliError(`name a version as MODEL@VERSION, e.g. iris@3 (got ${JSON.stringify(ref)})`, 2);
  return { model, version };
}

export function registerModelCommands(program: Command) {
  const models = program.command("models").description("The model registry: models, versions, uploads and downloads");

  models
    .command("list")
    .description("List models")
    .option("--search <text>", "only models whose name, description, task or tags match")
    .option("--json", "print JSON")
    .action(async (options: { search?: string; json?: boolean }, command: Command) => {
      const query = new URLSearchParams({ limit: "200", ...(options.search ? { q: options.search } : {}) });
      const { models: list } = await callApi<{ models: ModelView[] }>(connection(command), "GET", `/api/v1/models?${query}`);
      if (options.json) return printJson(list);
      if (list.length === 0) return void process.stdout.write(options.search ? "no models match\n" : "no models yet: create one with `berth models create NAME`\n");
      printTable(list.map((m) => ({ name: m.name, task: m.task, tags: m.tags.join(","), versions: m.versionCount, latest: m.latestVersion, updated: m.updatedAt.slice(0, 16) })), ["name", "task", "tags", "versions", "latest", "updated"]);
    });

  models
    .command("create")
    .description("Create a model")
    .argument("<name>", "lowercase letters, digits and dashes, 1-63 characters")
    .option("--display-name <text>", "a human-friendly name")
    .option("--description <text>", "what the model does")
    .option("--task <task>", "e.g. classification, embedding, generation")
    .option("--tag <tag...>", "tags (repeatable)")
    .option("--owner <owner>", "the team or person responsible")
    .option("--json", "print JSON")
    .action(async (name: string, options: { displayName?: string; description?: string; task?: string; tag?: string[]; owner?: string; json?: boolean }, command: Command) => {
      const { model } = await callApi<{ model: ModelView }>(connection(command), "POST", "/api/v1/models", {
        name,
        ...(options.displayName ? { displayName: options.displayName } : {}),
        description: options.description ?? "",
        task: options.task ?? null,
        tags: options.tag ?? [],
        owner: options.owner ?? null,
      });
      if (options.json) return printJson(model);
      process.stdout.write(`created model ${model.name}\n`);
    });

  models
    .command("push")
    .description("Upload a file as the model's next version, streamed in one request with a progress bar")
    .argument("<model>", "the model's name")
    .argument("<file>", "the artifact to upload")
    .addOption(new Option("--format <format>", "the artifact's format (default: from the file name)").choices(FORMATS))
    .option("--version <label>", "a label for the version (default: the next number)")
    .option("--sha256 <hex>", "refuse the upload, keeping nothing, if the file's SHA-256 differs")
    .option("--metadata <key=value...>", "free-form metadata (repeatable)")
    .option("--json", "print JSON")
    .action(async (model: string, file: string, options: { format?: string; version?: string; sha256?: string; metadata?: string[]; json?: boolean }, command: Command) => {
      const format = options.format ?? (file.toLowerCase().endsWith(".onnx") ? "onnx" : file.toLowerCase().endsWith(".gguf") ? "gguf" : file.toLowerCase().endsWith(".safetensors") ? "safetensors" : "other");
      const query = new URLSearchParams({
        format,
        fileName: path.basename(file),
        ...(options.version ? { version: options.version } : {}),
        ...(options.sha256 ? { sha256: options.sha256 } : {}),
      });
      const headers: Record<string, string> = options.metadata?.length ? { "berth-metadata": JSON.stringify(keyValues(options.metadata, "--metadata")) } : {};
      const { version } = await uploadFile<{ version: VersionView }>(connection(command), `/api/v1/models/${encodeURIComponent(model)}/versions?${query}`, file, headers);
      if (options.json) return printJson(version);
      process.stdout.write(`${version.model}@${version.label}  ${version.format}  ${human(version.sizeBytes)}  sha256:${version.sha256}\n`);
    });

  models
    .command("versions")
    .description("List a model's versions, newest first")
    .argument("<model>", "the model's name")
    .option("--json", "print JSON")
    .action(async (model: string, options: { json?: boolean }, command: Command) => {
      const { versions } = await callApi<{ versions: VersionView[] }>(connection(command), "GET", `/api/v1/models/${encodeURIComponent(model)}/versions`);
      if (options.json) return printJson(versions);
      if (versions.length === 0) return void process.stdout.write(`${model} has no versions yet: berth models push ${model} FILE\n`);
      printTable(
        versions.map((v) => ({ version: v.label, format: v.format, size: human(v.sizeBytes), sha256: v.sha256.slice(0, 16), stage: v.stage, uploaded: `${v.createdAt.slice(0, 16)} ${v.uploadedBy}` })),
        ["version", "format", "size", "sha256", "stage", "uploaded"],
      );
    });

  models
    .command("download")
    .description("Download a version's artifact, resuming a partial download and checking its SHA-256")
    .argument("<ref>", "MODEL@VERSION")
    .option("-o, --output <file>", "where to write it (default: the uploaded file name)")
    .option("--json", "print JSON")
    .action(async (ref: string, options: { output?: string; json?: boolean }, command: Command) => {
      const { model, version } = splitRef(ref);
      const conn = connection(command);
      const base = `/api/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`;
      const { version: info } = await callApi<{ version: VersionView }>(conn, "GET", base);
      const out = options.output ?? info.fileName ?? `${model}-${version}.${info.format === "onnx" ? "onnx" : "bin"}`;
      const result = await downloadFile(conn, `${base}/artifact`, out);
      if (options.json) return printJson({ file: out, ...result });
      process.stdout.write(`${out}  ${human(result.size)}  sha256:${result.sha256} (verified)\n`);
    });
}
