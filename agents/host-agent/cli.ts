/**
 * Entry point of the single-file agent (`npm run build:agent` bundles it to
 * dist/berth-agent.mjs, which needs only `node` on the host):
 *   node berth-agent.mjs --url URL --token TOKEN [--state-dir DIR] [--ca-file PEM]
 *     [--advertise-address IP] [--bind-address IP] [--cache-max-bytes 50G]
 * It is also the agent image's entrypoint (agents/host-agent/image.ts). URL, token
 * and state folder can come from the environment instead (systemd EnvironmentFile,
 * compose .env), which keeps the one-time token out of `ps` and unit files.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { AGENT_VERSION } from "./agent";
import { DEFAULT_CACHE_MAX_BYTES, parseByteSize } from "./artifact-cache";
import { runAgentUntilStopped } from "./run";

function bytesOption(value: string): number {
  try {
    return parseByteSize(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command()
  .name("berth-agent")
  .description(`Berth host agent ${AGENT_VERSION}: enrols with a one-time token, then reports and carries out what Berth asks, until stopped`)
  .version(AGENT_VERSION)
  .addOption(new Option("--url <url>", "the control plane's address, e.g. https://berth.example.internal").env("BERTH_URL").makeOptionMandatory())
  .addOption(new Option("--token <token>", "the one-time enrolment token (only needed the first time)").env("BERTH_ENROLMENT_TOKEN"))
  .addOption(new Option("--state-dir <dir>", "where the agent keeps its credential (mode 0600) and cache").env("BERTH_AGENT_STATE_DIR").default("/var/lib/berth-agent"))
  .option("--ca-file <file>", "a PEM file of CA certificates to trust for the control plane")
  .option("--advertise-address <ip>", "the address Berth's gateway uses to reach this host's containers (default: $BERTH_AGENT_ADVERTISE_ADDRESS, else the first non-internal IPv4)")
  .option("--bind-address <ip>", "the host address container ports are published on", "0.0.0.0")
  .option("--cache-max-bytes <size>", "bound of the artifact cache (e.g. 50G); unused artifacts are evicted least recently used first", bytesOption, DEFAULT_CACHE_MAX_BYTES)
  .action((options: { url: string; token?: string; stateDir: string; caFile?: string; advertiseAddress?: string; bindAddress: string; cacheMaxBytes: number }) =>
    runAgentUntilStopped(options),
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`berth-agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
