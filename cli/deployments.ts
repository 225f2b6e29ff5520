import { readFileSync } from "node:fs";
import { type Command } from "commander";
import type { DeploymentView } from "@/lib/deployments/deployments";
import type { RuntimeView } from "@/lib/deployments/runtimes";
import type { LedgerView } from "@/lib/deployments/ledger";
import { callApi, CliError, connectionFrom, type Connection } from "./http";
import { printJson, printTable } from "./output";
import { keyValues } from "./args";

type Global = { url?: string; token?: string };
const connection = (command: Command) => connectionFrom(command.optsWithGlobals<Global>());
const path = (name: string, rest = "") => `/api/v1/deployments/${encodeURIComponent(name)}${rest}`;

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) throw new CliError(`${flag} takes a number, got ${JSON.stringify(value)}`, 2);
  return parsed;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function summary(d: DeploymentView) {
  return `${d.name}: ${d.status}, ${d.model.name}@${d.model.version}, ${d.readyReplicas}/${d.replicas} ready`;
}

function printDeployment(d: DeploymentView) {
  const placement = "servers" in d.placement ? `servers ${d.placement.servers.join(", ")}` : `selector ${Object.entries(d.placement.selector).map(([k, v]) => `${k}=${v}`).join(",")}`;
  process.stdout.write(
    [
      `name: ${d.name}`,
      `status: ${d.status}`,
      `model: ${d.model.name}@${d.model.version} (${d.model.format}, sha256 ${d.model.sha256.slice(0, 12)}…)`,
      `previous version: ${d.previousVersion ?? "—"}`,
      `runtime: ${d.runtime.name} (${d.runtime.image})`,
      `placement: ${placement}`,
      `replicas: ${d.readyReplicas}/${d.replicas} ready`,
      `resources: cpus ${d.cpus ?? "unlimited"}, memory ${d.memoryBytes === null ? "unlimited" : `${Math.round(d.memoryBytes / 1024 ** 2)} MiB`}, gpus ${d.gpus}`,
      `updated: ${d.updatedAt} by ${d.updatedBy}`,
      "",
    ].join("\n"),
  );
  printTable(
    d.replicaStatuses.map((r) => ({
      slot: r.slot,
      server: r.server,
      version: r.version,
      phase: r.desired ? r.phase : `${r.phase} (leaving)`,
      endpoint: r.endpoint,
      restarts: r.restartCount,
      message: r.message?.split("\n")[0]?.slice(0, 60),
    })),
    ["slot", "server", "version", "phase", "endpoint", "restarts", "message"],
  );
}

/** Polls until every replica runs the current spec and is ready (or one fails), printing each change. */
async function waitUntilSettled(conn: Connection, name: string, timeoutSeconds: number, quiet: boolean): Promise<DeploymentView> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "";
  for (;;) {
    const { deployment } = await callApi<{ deployment: DeploymentView }>(conn, "GET", path(name));
    const line = summary(deployment);
    if (line !== last && !quiet) process.stderr.write(`${line}\n`);
    last = line;
    if (deployment.status === "running" || deployment.status === "stopped") return deployment;
    if (deployment.status === "failed") {
      const failed = deployment.replicaStatuses.find((r) => r.phase === "failed");
      throw new CliError(`deployment ${name} failed: replica ${failed?.slot} on ${failed?.server}: ${failed?.message ?? "no message"}`, 1);
    }
    if (Date.now() > deadline) throw new CliError(`deployment ${name} did not settle within ${timeoutSeconds} s (now ${deployment.status}); see berth deploy show ${name}`, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

type WaitOptions = { wait?: boolean; timeout: string; json?: boolean };

async function finish(conn: Connection, deployment: DeploymentView, options: WaitOptions) {
  const settled = options.wait ? await waitUntilSettled(conn, deployment.name, Number(options.timeout), options.json === true) : deployment;
  if (options.json) return printJson(settled);
  process.stdout.write(`${summary(settled)}\n`);
}

export function registerDeploymentCommands(program: Command) {
  const deploy = program.command("deploy").description("Deployments: run model versions on servers, update, scale, roll back");
  const withWait = (command: Command) =>
    command.option("--wait", "wait until every replica is ready (or one fails)").option("--timeout <seconds>", "with --wait: give up after this long", "300").option("--json", "print JSON");

  withWait(
    deploy
      .command("create")
      .description("Deploy a model version: on named servers (--server, repeatable) or on servers matching labels (--selector)")
      .argument("<name>", "the deployment's name: lowercase letters, digits and dashes")
      .requiredOption("--model <model@version>", "the model version to run, e.g. iris@1")
      .option("--server <name>", "a server to run on (repeatable)", collect)
      .option("--selector <key=value>", "run on servers with these labels (repeatable)", collect)
      .option("--replicas <n>", "how many containers (default: one per --server, else 1)")
      .option("--runtime <name>", "the runtime to serve it with (default: onnx)")
      .option("--cpus <n>", "CPU limit per replica, e.g. 1.5")
      .option("--memory <size>", "memory limit per replica, e.g. 512m or 2g")
      .option("--gpus <n>", "GPUs per replica", "0")
      .option("--env <KEY=VALUE>", "environment variable for the container (repeatable)", collect),
  ).action(async (name: string, options: WaitOptions & { model: string; server?: string[]; selector?: string[]; replicas?: string; runtime?: string; cpus?: string; memory?: string; gpus: string; env?: string[] }, command: Command) => {
    if (!options.server && !options.selector) throw new CliError("say where to run it: --server NAME (repeatable) or --selector key=value", 2);
    const conn = connection(command);
    const { deployment } = await callApi<{ deployment: DeploymentView }>(conn, "POST", "/api/v1/deployments", {
      name,
      model: options.model,
      ...(options.server ? { servers: options.server } : { selector: keyValues(options.selector, "--selector") }),
      ...(options.replicas !== undefined ? { replicas: number(options.replicas, "--replicas") } : {}),
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.cpus !== undefined ? { cpus: number(options.cpus, "--cpus") } : {}),
      ...(options.memory !== undefined ? { memory: options.memory } : {}),
      gpus: number(options.gpus, "--gpus"),
      env: keyValues(options.env, "--env"),
    });
    await finish(conn, deployment, options);
  });

  deploy
    .command("list")
    .description("List deployments with their status")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { deployments } = await callApi<{ deployments: DeploymentView[] }>(connection(command), "GET", "/api/v1/deployments");
      if (options.json) return printJson(deployments);
      if (deployments.length === 0) return void process.stdout.write("no deployments yet: berth deploy create NAME --model MODEL@VERSION --server SERVER\n");
      printTable(
        deployments.map((d) => ({ name: d.name, status: d.status, model: `${d.model.name}@${d.model.version}`, ready: `${d.readyReplicas}/${d.replicas}`, runtime: d.runtime.name, updated: d.updatedAt.slice(0, 19) })),
        ["name", "status", "model", "ready", "runtime", "updated"],
      );
    });

  deploy
    .command("show")
    .description("One deployment with its replicas")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { deployment } = await callApi<{ deployment: DeploymentView }>(connection(command), "GET", path(name));
      if (options.json) return printJson(deployment);
      printDeployment(deployment);
    });

  withWait(
    deploy
      .command("update")
      .description("Change the model version, resources or environment: replicas are replaced one at a time")
      .argument("<name>")
      .option("--model <model@version>", "the new model version")
      .option("--cpus <n>", "CPU limit per replica")
      .option("--memory <size>", "memory limit per replica, e.g. 2g")
      .option("--env <KEY=VALUE>", "the full new environment (repeatable; replaces the old one)", collect),
  ).action(async (name: string, options: WaitOptions & { model?: string; cpus?: string; memory?: string; env?: string[] }, command: Command) => {
    const body = {
      ...(options.model ? { model: options.model } : {}),
      ...(options.cpus !== undefined ? { cpus: number(options.cpus, "--cpus") } : {}),
      ...(options.memory !== undefined ? { memory: options.memory } : {}),
      ...(options.env ? { env: keyValues(options.env, "--env") } : {}),
    };
    if (Object.keys(body).length === 0) throw new CliError("say what to change: --model, --cpus, --memory or --env", 2);
    const conn = connection(command);
    const { deployment } = await callApi<{ deployment: DeploymentView }>(conn, "PATCH", path(name), body);
    await finish(conn, deployment, options);
  });

  withWait(deploy.command("scale").description("Change the number of replicas").argument("<name>").argument("<replicas>")).action(
    async (name: string, replicas: string, options: WaitOptions, command: Command) => {
      const conn = connection(command);
      const { deployment } = await callApi<{ deployment: DeploymentView }>(conn, "PATCH", path(name), { replicas: number(replicas, "replicas") });
      await finish(conn, deployment, options);
    },
  );

  for (const [action, description] of [
    ["stop", "Stop every replica (the deployment stays, ready to start again)"],
    ["start", "Start a stopped deployment"],
    ["rollback", "Roll back to the previous model version (one replica at a time)"],
  ] as const) {
    withWait(deploy.command(action).description(description).argument("<name>")).action(async (name: string, options: WaitOptions, command: Command) => {
      const conn = connection(command);
      const { deployment } = await callApi<{ deployment: DeploymentView }>(conn, "POST", path(name, "/actions"), { action });
      await finish(conn, deployment, options);
    });
  }

  deploy
    .command("delete")
    .description("Delete a deployment: its containers stop and are removed")
    .argument("<name>")
    .option("--yes", "do not ask for confirmation")
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      if (!options.yes) {
        if (!process.stdin.isTTY) throw new CliError(`deleting ${name} stops all its containers; pass --yes to confirm`, 2);
        const { createInterface } = await import("node:readline/promises");
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Delete deployment ${name} and stop all its containers? Type its name to confirm: `);
        rl.close();
        if (answer.trim() !== name) throw new CliError("not deleted", 1);
      }
      await callApi(connection(command), "DELETE", path(name));
      process.stdout.write(`${name}: deleting (containers are stopping)\n`);
    });

  deploy
    .command("events")
    .description("The deployment's timeline, newest first")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { events } = await callApi<{ events: { at: string; kind: string; message: string }[] }>(connection(command), "GET", path(name, "/events"));
      if (options.json) return printJson(events);
      for (const event of events) process.stdout.write(`${event.at}  ${event.message}\n`);
    });

  deploy
    .command("logs")
    .description("The last log lines of each replica's container")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { replicas } = await callApi<{ replicas: { slot: number; server: string; phase: string; lines: string[] }[] }>(connection(command), "GET", path(name, "/logs"));
      if (options.json) return printJson(replicas);
      for (const replica of replicas) {
        process.stdout.write(`==> replica ${replica.slot} on ${replica.server} (${replica.phase})\n${replica.lines.join("\n")}${replica.lines.length ? "\n" : ""}`);
      }
    });

  deploy
    .command("ledger")
    .description("Which artifact ran where and when, in which container, started and stopped by whom")
    .argument("<name>")
    .option("--at <time>", "only what was running at this moment (ISO 8601)")
    .option("--csv", "print CSV")
    .option("--json", "print JSON")
    .action(async (name: string, options: { at?: string; csv?: boolean; json?: boolean }, command: Command) => {
      const query = new URLSearchParams({ ...(options.at ? { at: options.at } : {}), ...(options.csv ? { format: "csv" } : {}) });
      const result = await callApi<{ entries: LedgerView[] } | string>(connection(command), "GET", path(name, `/ledger?${query}`));
      if (typeof result === "string") return void process.stdout.write(result);
      if (options.json) return printJson(result.entries);
      printTable(
        result.entries.map((e) => ({ server: e.server, version: `${e.model}@${e.version}`, container: e.containerId.slice(0, 12), started: e.startedAt.slice(0, 19), by: e.startedBy, stopped: e.stoppedAt?.slice(0, 19), reason: e.stopReason })),
        ["server", "version", "container", "started", "by", "stopped", "reason"],
      );
    });
}

export function registerRuntimeCommands(program: Command) {
  const runtimes = program.command("runtimes").description("The runtime catalogue: inference server images deployments run in");

  runtimes
    .command("list")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { runtimes: list } = await callApi<{ runtimes: RuntimeView[] }>(connection(command), "GET", "/api/v1/runtimes");
      if (options.json) return printJson(list);
      printTable(
        list.map((r) => ({ name: r.name, image: r.image, protocol: r.protocol, port: r.containerPort, formats: r.supportedFormats.join(","), builtin: r.builtin ? "yes" : "" })),
        ["name", "image", "protocol", "port", "formats", "builtin"],
      );
    });

  runtimes
    .command("add")
    .description("Register a runtime image, e.g. Triton or vLLM from your registry")
    .argument("<name>")
    .requiredOption("--image <ref>", "image reference, e.g. registry.internal/triton:24.05")
    .requiredOption("--port <n>", "the port the server listens on inside the container")
    .requiredOption("--readiness-path <path>", "HTTP path that answers 200 once the model is loaded")
    .option("--protocol <p>", "open_inference_v2, openai or custom", "open_inference_v2")
    .option("--model-mount-path <path>", "where the model file is mounted (read-only)", "/models")
    .option("--format <f>", "a model format it serves (repeatable)", collect)
    .option("--arg <a>", "a container argument (repeatable)", collect)
    .option("--env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("--registry-username <user>", "registry login")
    .option("--registry-password-file <file>", "file holding the registry password (kept encrypted; never on the command line)")
    .option("--json", "print JSON")
    .action(
      async (
        name: string,
        options: { image: string; port: string; readinessPath: string; protocol: string; modelMountPath: string; format?: string[]; arg?: string[]; env?: string[]; registryUsername?: string; registryPasswordFile?: string; json?: boolean },
        command: Command,
      ) => {
        const { runtime } = await callApi<{ runtime: RuntimeView }>(connection(command), "POST", "/api/v1/runtimes", {
          name,
          image: options.image,
          containerPort: number(options.port, "--port"),
          readinessPath: options.readinessPath,
          protocol: options.protocol,
          modelMountPath: options.modelMountPath,
          supportedFormats: options.format ?? ["onnx"],
          args: options.arg ?? [],
          env: keyValues(options.env, "--env"),
          registryUsername: options.registryUsername ?? null,
          registryPassword: options.registryPasswordFile ? readFileSync(options.registryPasswordFile, "utf8").trim() : null,
        });
        if (options.json) return printJson(runtime);
        process.stdout.write(`runtime ${runtime.name} registered (${runtime.image})\n`);
      },
    );

  runtimes
    .command("remove")
    .argument("<name>")
    .action(async (name: string, _options: unknown, command: Command) => {
      await callApi(connection(command), "DELETE", `/api/v1/runtimes/${encodeURIComponent(name)}`);
      process.stdout.write(`runtime ${name} removed\n`);
    });
}
