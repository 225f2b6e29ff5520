/**
 * Entry point of the single-file agent (`npm run build:agent` bundles it to
 * dist/berth-agent.mjs, which needs only `node` on the host):
 *   node berth-agent.mjs --url URL --token TOKEN [--state-dir DIR] [--ca-file PEM]
 */
import { Command } from "commander";
import { AGENT_VERSION } from "./agent";
import { runAgentUntilStopped } from "./run";

const program = new Command()
  .name("berth-agent")
  .description(`Berth host agent ${AGENT_VERSION}: enrols with a one-time token, then reports and carries out what Berth asks, until stopped`)
  .requiredOption("--url <url>", "the control plane's address, e.g. https://berth.example.internal")
  .option("--token <token>", "the one-time enrolment token (only needed the first time)")
  .option("--state-dir <dir>", "where the agent keeps its credential (mode 0600) and cache", "/var/lib/berth-agent")
  .option("--ca-file <file>", "a PEM file of CA certificates to trust for the control plane")
  .action((options: { url: string; token?: string; stateDir: string; caFile?: string }) => runAgentUntilStopped(options));

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`berth-agent: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
