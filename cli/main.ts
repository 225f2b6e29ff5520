import { Command, Option } from "commander";
import { ROLES } from "@/lib/auth/roles";
import { BERTH_VERSION } from "@/lib/version";
import { backupOnHost, buildAgentImageOnHost, createTokenOnHost, restoreOnHost } from "./admin";
import { callApi, CliError, connectionFrom } from "./http";
import { registerAuditCommands } from "./audit";
import { registerInferCommand } from "./infer";
import { registerModelCommands } from "./models";
import { registerAgentCommand, registerServerCommands } from "./servers";
import { registerDeploymentCommands, registerRuntimeCommands } from "./deployments";
import { registerWebhookCommands } from "./webhooks";
import { printJson, printTable } from "./output";

type Global = { url?: string; token?: string };
type ApiToken = { id: string; name: string; role: string; displayPrefix: string; createdBy: string; createdAt: string; expiresAt: string | null; lastUsedAt: string | null; status: string };

const program = new Command()
  .name("berth")
  .description(`Berth ${BERTH_VERSION}: on-premises model deployment control plane`)
  .option("--url <url>", "Berth's address (default: $BERTH_URL, else http://localhost:3000)")
  .option("--token <token>", "API token (default: $BERTH_TOKEN)")
  .showHelpAfterError()
  .addHelpText(
    "after",
    "\nEnvironment:\n  BERTH_URL     Berth's address\n  BERTH_TOKEN   an API token from Settings, or from `berth admin create-token` on the control-plane host",
  );

function api(command: Command) {
  return connectionFrom(command.optsWithGlobals<Global>());
}

program
  .command("health")
  .description("Check that Berth and its database answer (no token needed)")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }, command: Command) => {
    const health = await callApi<{ status: string; version: string; database: { ok: boolean; latencyMs?: number; error?: string } }>(api(command), "GET", "/api/health").catch(
      (error: CliError) => {
        throw error;
      },
    );
    if (options.json) return printJson(health);
    process.stdout.write(`status: ${health.status}\nversion: ${health.version}\ndatabase: ${health.database.ok ? `ok (${health.database.latencyMs} ms)` : `down: ${health.database.error}`}\n`);
  });

program
  .command("whoami")
  .description("Show who the token belongs to, its role and permissions")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }, command: Command) => {
    const me = await callApi<{ kind: string; label: string; role: string; permissions: string[] }>(api(command), "GET", "/api/v1/me");
    if (options.json) return printJson(me);
    process.stdout.write(`${me.label}\nkind: ${me.kind}\nrole: ${me.role}\npermissions: ${me.permissions.join(", ")}\n`);
  });

const tokens = program.command("tokens").description("Manage API tokens through the API");
tokens
  .command("list")
  .description("List API tokens (your own; an ADMIN sees all)")
  .option("--json", "print JSON")
  .action(async (options: { json?: boolean }, command: Command) => {
    const { tokens: list } = await callApi<{ tokens: ApiToken[] }>(api(command), "GET", "/api/v1/tokens");
    if (options.json) return printJson(list);
    if (list.length === 0) return void process.stdout.write("no API tokens\n");
    printTable(
      list.map((t) => ({ id: t.id, name: t.name, prefix: `${t.displayPrefix}…`, role: t.role, status: t.status, expires: t.expiresAt?.slice(0, 10), "last used": t.lastUsedAt?.slice(0, 16) })),
      ["id", "name", "prefix", "role", "status", "expires", "last used"],
    );
  });
tokens
  .command("create")
  .description("Create an API token; prints the secret once")
  .requiredOption("--name <name>", "what the token is for, e.g. ci-pipeline")
  .addOption(new Option("--role <role>", "the token's role, no higher than yours").choices(ROLES).makeOptionMandatory())
  .option("--expires-at <iso>", "expiry as an ISO 8601 date-time, e.g. 2027-01-31T00:00:00Z")
  .option("--infer", "may also call the inference gateway (`berth infer`, /api/v1/infer/...)")
  .option("--json", "print JSON")
  .action(async (options: { name: string; role: string; expiresAt?: string; infer?: boolean; json?: boolean }, command: Command) => {
    const result = await callApi<{ token: ApiToken; secret: string }>(api(command), "POST", "/api/v1/tokens", {
      name: options.name,
      role: options.role,
      expiresAt: options.expiresAt ?? null,
      ...(options.infer ? { canInfer: true } : {}),
    });
    if (options.json) return printJson(result);
    process.stderr.write(`created ${result.token.role} token "${result.token.name}" (${result.token.id}); it is shown once:\n`);
    process.stdout.write(`${result.secret}\n`);
  });
tokens
  .command("revoke")
  .description("Revoke an API token by id; it stops working at once")
  .argument("<id>", "the token's id, from `berth tokens list`")
  .option("--json", "print JSON")
  .action(async (id: string, options: { json?: boolean }, command: Command) => {
    const { token } = await callApi<{ token: ApiToken }>(api(command), "DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`);
    if (options.json) return printJson(token);
    process.stdout.write(`revoked token "${token.name}" (${token.id})\n`);
  });

registerAuditCommands(program);
registerModelCommands(program);
registerServerCommands(program);
registerDeploymentCommands(program);
registerRuntimeCommands(program);
registerWebhookCommands(program);
registerInferCommand(program);
registerAgentCommand(program);

const admin = program.command("admin").description("Commands for the host Berth is installed on (direct database access, the agent image)");
admin
  .command("create-token")
  .description("Mint an API token on the control-plane host, with no sign-in (automation, recovery); audited as a system action")
  .requiredOption("--name <name>", "what the token is for")
  .addOption(new Option("--role <role>", "the token's role").choices(ROLES).makeOptionMandatory())
  .option("--expires-at <iso>", "expiry as an ISO 8601 date-time")
  .option("--infer", "may also call the inference gateway")
  .option("--json", "print JSON")
  .addHelpText("after", "\nReads DATABASE_URL, or BERTH_DATA_DIR (default ./.berth) for the embedded database.\nThe secret goes to stdout alone, so TOKEN=$(berth admin create-token ...) works.")
  .action(createTokenOnHost);
admin
  .command("backup")
  .description("Back up the database and the artifacts, consistent with each other, to one tar file (and FILE.sha256); audited")
  .argument("<file>", "where to write the backup, e.g. /backups/berth-2026-11-25.tar")
  .addHelpText("after", "\nReads DATABASE_URL, or BERTH_DATA_DIR for the embedded database; BERTH_BLOB_DIR for the artifacts. Safe while Berth runs.")
  .action(backupOnHost);
admin
  .command("restore")
  .description("Restore a backup into an empty Berth (a new BERTH_DATA_DIR or an empty database), checking every checksum first; then verifies the audit chain")
  .argument("<file>", "a file written by `berth admin backup`")
  .addHelpText("after", "\nRun with Berth stopped, e.g. BERTH_DATA_DIR=/srv/berth-new berth admin restore /backups/berth.tar, then start Berth on that folder.")
  .action(restoreOnHost);
admin
  .command("build-agent-image")
  .description("Build the agent's container image from this host's own files (no registry) and load it into the local Docker Engine")
  .option("-o, --output <file>", "also write the image archive here, to carry to other hosts (docker load -i FILE)")
  .option("--no-load", "do not load it into this host's Docker Engine (with --output)")
  .option("--json", "print JSON")
  .addHelpText(
    "after",
    "\nThe image is tagged as the enrolment `docker run` line and docker-compose.yml name it.\nNeeds GNU tar and ldd; loading needs the Docker socket (DOCKER_SOCKET, default /var/run/docker.sock).\nThe archive is cached in $BERTH_DATA_DIR/images until the agent's code changes.",
  )
  .action(buildAgentImageOnHost);

// `berth --version` by hand: commander's own version option would also claim
// `--version` after a subcommand, which `berth models push --version LABEL` needs.
if (process.argv[2] === "--version" || process.argv[2] === "-V") {
  process.stdout.write(`${BERTH_VERSION}\n`);
  process.exit(0);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CliError) {
    process.stderr.write(`berth: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`berth: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
