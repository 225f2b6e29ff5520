import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_CACHE_MAX_BYTES, parseByteSize } from "@/agents/host-agent/artifact-cache";
import type { ServerView } from "@/lib/fleet/servers";
import { runAgentUntilStopped } from "@/agents/host-agent/run";
import { callApi, CliError, connectionFrom } from "./http";
import { printJson, printTable } from "./output";
import { keyValues } from "./args";

function agentCacheBytes(value: string): number {
  try {
    return parseByteSize(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

type Global = { url?: string; token?: string };
const connection = (command: Command) => connectionFrom(command.optsWithGlobals<Global>());
type Enrolment = { server: ServerView; enrolmentToken: string; commands: { npx: string; bundle: string; systemd: string; docker: string } };

function printEnrolment(result: Enrolment) {
  process.stdout.write(
    `server ${result.server.name}: enrolment token (one use, expires ${result.server.enrolmentExpiresAt}):\n  ${result.enrolmentToken}\n\n` +
      `run the agent on the host:\n  ${result.commands.npx}\n\nor with the single-file agent:\n  ${result.commands.bundle}\n\nor as a container:\n  ${result.commands.docker}\n`,
  );
}

export function registerServerCommands(program: Command) {
  const servers = program.command("servers").description("The fleet: enrol servers, watch their state, drain, disable or remove them");

  servers
    .command("list")
    .description("List servers with their state")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const { servers: list } = await callApi<{ servers: ServerView[] }>(connection(command), "GET", "/api/v1/servers");
      if (options.json) return printJson(list);
      if (list.length === 0) return void process.stdout.write("no servers yet: berth servers add NAME\n");
      printTable(
        list.map((s) => ({
          name: s.name,
          state: s.state,
          "last seen": s.lastSeenAt?.slice(0, 19) ?? "never",
          host: s.hostname,
          cpus: s.inventory?.cpu.cores,
          gpus: s.inventory?.gpus.length,
          agent: s.agentVersion,
          labels: Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(","),
        })),
        ["name", "state", "last seen", "host", "cpus", "gpus", "agent", "labels"],
      );
    });

  servers
    .command("add")
    .description("Add a server; prints its one-time enrolment token and the command to run on the host")
    .argument("<name>", "lowercase letters, digits and dashes")
    .option("--label <key=value...>", "labels for placement, e.g. gpu=a100 zone=dc1 (repeatable)")
    .option("--ttl-minutes <n>", "how long the enrolment token is valid", "60")
    .option("--json", "print JSON")
    .action(async (name: string, options: { label?: string[]; ttlMinutes: string; json?: boolean }, command: Command) => {
      const result = await callApi<Enrolment>(connection(command), "POST", "/api/v1/servers", { name, labels: keyValues(options.label, "--label"), enrolmentTtlMinutes: Number(options.ttlMinutes) });
      if (options.json) return printJson(result);
      printEnrolment(result);
    });

  servers
    .command("show")
    .description("One server: state, inventory and history")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const result = await callApi<{ server: ServerView; history: { at: string; action: string; actorLabel: string; outcome: string }[] }>(connection(command), "GET", `/api/v1/servers/${encodeURIComponent(name)}`);
      if (options.json) return printJson(result);
      const s = result.server;
      const inv = s.inventory;
      process.stdout.write(
        [
          `name: ${s.name}`,
          `state: ${s.state}`,
          `last seen: ${s.lastSeenAt ?? "never"}`,
          `labels: ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}`,
          ...(inv
            ? [
                `host: ${inv.hostname} (${inv.os.platform} ${inv.os.release}, ${inv.os.arch})`,
                `cpu: ${inv.cpu.cores} × ${inv.cpu.model}`,
                `memory: ${(inv.memory.totalBytes / 1024 ** 3).toFixed(1)} GiB (${(inv.memory.freeBytes / 1024 ** 3).toFixed(1)} free)`,
                `disk: ${inv.disk ? `${(inv.disk.freeBytes / 1024 ** 3).toFixed(1)} GiB free of ${(inv.disk.totalBytes / 1024 ** 3).toFixed(1)} at ${inv.disk.path}` : "unknown"}`,
                `docker: ${inv.docker.available ? `${inv.docker.version} (API ${inv.docker.apiVersion})` : `not available: ${inv.docker.error}`}`,
                `gpus: ${inv.gpus.length ? inv.gpus.map((g) => `${g.name} ${g.memoryTotalMiB ?? "?"} MiB`).join("; ") : "none"}`,
                `agent: ${inv.agentVersion}`,
              ]
            : ["inventory: none yet (the agent has not reported)"]),
          "history:",
          ...result.history.slice(0, 20).map((e) => `  ${e.at}  ${e.action}  ${e.outcome}  ${e.actorLabel}`),
        ].join("\n") + "\n",
      );
    });

  for (const [action, description] of [
    ["drain", "Drain a server: what runs keeps running, nothing new is placed there"],
    ["disable", "Disable a server: nothing is placed or run there"],
    ["activate", "Return a drained or disabled server to service"],
  ] as const) {
    servers
      .command(action)
      .description(description)
      .argument("<name>")
      .option("--json", "print JSON")
      .action(async (name: string, options: { json?: boolean }, command: Command) => {
        const { server } = await callApi<{ server: ServerView }>(connection(command), "POST", `/api/v1/servers/${encodeURIComponent(name)}/actions`, { action });
        if (options.json) return printJson(server);
        process.stdout.write(`${server.name}: ${server.state}\n`);
      });
  }

  servers
    .command("remove")
    .description("Remove a server; its agent's credential is refused from its next request")
    .argument("<name>")
    .option("--yes", "do not ask (required when not on a terminal)")
    .option("--json", "print JSON")
    .action(async (name: string, options: { yes?: boolean; json?: boolean }, command: Command) => {
      if (!options.yes) {
        if (!process.stdin.isTTY) throw new CliError("removing a server cannot be undone; pass --yes to confirm", 2);
        const { createInterface } = await import("node:readline/promises");
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(`Remove server ${name}? Its agent will be locked out. Type the name to confirm: `);
        rl.close();
        if (answer.trim() !== name) throw new CliError("not removed", 1);
      }
      await callApi(connection(command), "DELETE", `/api/v1/servers/${encodeURIComponent(name)}`);
      if (options.json) return printJson({ removed: name });
      process.stdout.write(`removed ${name}\n`);
    });

  servers
    .command("rotate-credential")
    .description("Have the server's agent swap its credential at its next heartbeat")
    .argument("<name>")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const { server } = await callApi<{ server: ServerView }>(connection(command), "POST", `/api/v1/servers/${encodeURIComponent(name)}/rotate-credential`);
      if (options.json) return printJson(server);
      process.stdout.write(`${server.name}: rotation requested; the agent swaps its credential at its next heartbeat\n`);
    });

  servers
    .command("enrolment-token")
    .description("Issue a new one-time enrolment token for a server (e.g. to re-install its host)")
    .argument("<name>")
    .option("--ttl-minutes <n>", "how long it is valid", "60")
    .option("--json", "print JSON")
    .action(async (name: string, options: { ttlMinutes: string; json?: boolean }, command: Command) => {
      const result = await callApi<Enrolment>(connection(command), "POST", `/api/v1/servers/${encodeURIComponent(name)}/enrolment-token`, { ttlMinutes: Number(options.ttlMinutes) });
      if (options.json) return printJson(result);
      printEnrolment(result);
    });
}

export function registerAgentCommand(program: Command) {
  program
    .command("agent")
    .description("Run the Berth agent on this host: enrol with a one-time token, then report and carry out what Berth asks, until stopped")
    .option("--state-dir <dir>", "where the agent keeps its credential (mode 0600) and cache", process.env.BERTH_AGENT_STATE_DIR ?? "/var/lib/berth-agent")
    .option("--ca-file <file>", "a PEM file of CA certificates to trust for the control plane (internal PKI)")
    .option("--advertise-address <ip>", "the address Berth's gateway uses to reach this host's containers (default: $BERTH_AGENT_ADVERTISE_ADDRESS, else the first non-internal IPv4)")
    .option("--bind-address <ip>", "the host address container ports are published on", "0.0.0.0")
    .option("--cache-max-bytes <size>", "bound of the artifact cache (e.g. 50G); unused artifacts are evicted least recently used first", agentCacheBytes, DEFAULT_CACHE_MAX_BYTES)
    .addHelpText(
      "after",
      "\n--url (or BERTH_URL) is the control plane's address; --token (or BERTH_ENROLMENT_TOKEN) is the one-time enrolment token, needed only the first time.\nExample: berth agent --url https://berth.example.internal --token berth_enrol_...",
    )
    .action(async (local: { stateDir: string; caFile?: string; advertiseAddress?: string; bindAddress: string; cacheMaxBytes: number }, command: Command) => {
      // --url and --token are the program's own options; for the agent, --token is the enrolment token.
      const globals = command.optsWithGlobals<{ url?: string; token?: string }>();
      const url = globals.url ?? process.env.BERTH_URL;
      if (!url) throw new CliError("pass --url with the control plane's address (or set BERTH_URL)", 2);
      // From the environment, the one-time token stays out of `ps` (systemd EnvironmentFile, compose .env).
      await runAgentUntilStopped({ url, token: globals.token ?? (process.env.BERTH_ENROLMENT_TOKEN || undefined), ...local });
    });
}
