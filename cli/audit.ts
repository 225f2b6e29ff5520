import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { stat } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { Command } from "commander";
import { Option } from "commander";
import { verifyAuditExport } from "@/lib/audit/verify-export";
import { AUDIT_EXPORT_FORMATS } from "@/lib/audit/export-formats";
import { apiErrorMessage, callApi, CliError, connectionFrom, type Connection } from "./http";
import { printJson, printTable } from "./output";

type AuditEvent = {
  seq: string; at: string; actorKind: string; actorId: string | null; actorLabel: string; action: string; targetKind: string | null; targetId: string | null;
  targetLabel: string | null; outcome: string; sourceAddress: string | null; requestId: string | null; details: unknown; prevHash: string; hash: string;
};
type FilterOptions = { from?: string; to?: string; actor?: string; action?: string; target?: string; outcome?: string; q?: string };
type Verification =
  | { ok: true; checked: number; durationMs: number; headSeq: string | null; headHash: string; checkpoint: { throughSeq: string } | null }
  | { ok: false; checked: number; durationMs: number; seq: string; problem: string; message: string };

function connection(command: Command): Connection {
  return connectionFrom(command.optsWithGlobals<{ url?: string; token?: string }>());
}

function withFilterOptions(command: Command): Command {
  return command
    .option("--from <time>", "earliest time, inclusive (ISO 8601, e.g. 2026-11-01T00:00:00Z)")
    .option("--to <time>", "latest time, exclusive (ISO 8601)")
    .option("--actor <who>", "actor: an email, token or server name, or an id")
    .option("--action <prefix>", "action or prefix, e.g. deployment. or server.enrol")
    .option("--target <what>", "target: a model, server or deployment name, or an id")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices(["success", "failure", "denied"]))
    .option("--q <text>", "text to find in the events' details");
}

function filterQuery(options: FilterOptions): [string, string][] {
  return (["from", "to", "actor", "action", "target", "outcome", "q"] as const).filter((k) => options[k]).map((k) => [k, options[k]!]);
}

async function streamExport(conn: Connection, query: URLSearchParams, out: Writable): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${conn.url}/api/v1/audit/export?${query}`, { headers: conn.token ? { authorization: `Bearer ${conn.token}` } : {} });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new CliError(`cannot reach Berth at ${conn.url}${cause ? ` (${cause})` : ""}; check --url or BERTH_URL`);
  }
  if (!response.ok || !response.body) throw new CliError(apiErrorMessage(response.status, await response.text(), conn));
  await pipeline(Readable.fromWeb(response.body as WebReadableStream), out);
}

export function registerAuditCommands(program: Command) {
  const audit = program.command("audit").description("The audit log: list, export, verify (AUDITOR or ADMIN); purge (ADMIN)");

  withFilterOptions(audit.command("list").description("List audit events, newest first"))
    .option("--limit <n>", "events per page (1-500)", "50")
    .option("--before <seq>", "only events older than this seq (paging)")
    .option("--json", "print JSON")
    .action(async (options: FilterOptions & { limit: string; before?: string; json?: boolean }, command: Command) => {
      const query = new URLSearchParams([...filterQuery(options), ["limit", options.limit], ...(options.before ? [["before", options.before] as [string, string]] : [])]);
      const page = await callApi<{ events: AuditEvent[]; nextBefore: string | null }>(connection(command), "GET", `/api/v1/audit/events?${query}`);
      if (options.json) return printJson(page);
      if (page.events.length === 0) return void process.stdout.write("no audit events\n");
      printTable(
        page.events.map((e) => ({ seq: e.seq, at: e.at, actor: e.actorLabel, action: e.action, target: e.targetLabel ?? e.targetKind, outcome: e.outcome, source: e.sourceAddress })),
        ["seq", "at", "actor", "action", "target", "outcome", "source"],
      );
      if (page.nextBefore) process.stderr.write(`more: add --before ${page.nextBefore}\n`);
    });

  audit
    .command("show")
    .description("Show one event whole, with its hash and the previous hash")
    .argument("<seq>", "the event's number")
    .option("--json", "print JSON")
    .action(async (seq: string, options: { json?: boolean }, command: Command) => {
      const event = await callApi<AuditEvent & { contentMatchesHash: boolean }>(connection(command), "GET", `/api/v1/audit/events/${encodeURIComponent(seq)}`);
      if (options.json) return printJson(event);
      const lines = [
        `seq: ${event.seq}`, `at: ${event.at}`, `actor: ${event.actorLabel} (${event.actorKind}${event.actorId ? `, ${event.actorId}` : ""})`, `action: ${event.action}`,
        `target: ${event.targetKind ? `${event.targetKind}: ${event.targetLabel ?? ""}${event.targetId ? ` (${event.targetId})` : ""}` : "-"}`, `outcome: ${event.outcome}`,
        `source: ${event.sourceAddress ?? "-"}`, `request id: ${event.requestId ?? "-"}`, `details: ${JSON.stringify(event.details)}`,
        `prev hash: ${event.prevHash}`, `hash: ${event.hash}${event.contentMatchesHash ? "" : "  (DOES NOT MATCH the content: altered)"}`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  withFilterOptions(audit.command("export").description("Export a range, streamed to stdout or --output: JSON Lines (verifiable offline) or CSV"))
    .addOption(new Option("--format <format>", "jsonl carries the hash chain; csv is for spreadsheets").choices(AUDIT_EXPORT_FORMATS).default("jsonl"))
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (options: FilterOptions & { format: string; output?: string }, command: Command) => {
      const query = new URLSearchParams([...filterQuery(options), ["format", options.format]]);
      if (!options.output && process.stdout.isTTY) throw new CliError("refusing to write an export to the terminal: redirect it (> file) or pass --output FILE", 2);
      await streamExport(connection(command), query, options.output ? createWriteStream(options.output) : process.stdout);
      if (options.output) process.stderr.write(`wrote ${options.output} (${(await stat(options.output)).size} bytes)${options.format === "jsonl" ? `; check it with: berth audit verify ${options.output}` : ""}\n`);
    });

  audit
    .command("verify")
    .description("Verify a JSON Lines export offline (no Berth needed), or with --live the whole chain in the database")
    .argument("[file]", "a JSON Lines export (`berth audit export --format jsonl`)")
    .option("--live", "walk the chain in Berth's database now (needs AUDITOR or ADMIN)")
    .option("--json", "print JSON")
    .action(async (file: string | undefined, options: { live?: boolean; json?: boolean }, command: Command) => {
      if (options.live === (file !== undefined)) throw new CliError("give either an export FILE or --live", 2);
      if (options.live) {
        const result = await callApi<Verification>(connection(command), "GET", "/api/v1/audit/verification");
        if (options.json) printJson(result);
        else if (result.ok) process.stdout.write(`chain intact: ${result.checked} events checked in ${result.durationMs} ms; head is event ${result.headSeq ?? "-"} (${result.headHash})${result.checkpoint ? `; continues from the retention checkpoint through event ${result.checkpoint.throughSeq}` : ""}\n`);
        else process.stdout.write(`CHAIN BROKEN at event ${result.seq}: ${result.message}\n`);
        if (!result.ok) process.exitCode = 1;
        return;
      }
      const input = createReadStream(file!);
      await once(input, "open").catch((error: NodeJS.ErrnoException) => {
        throw new CliError(`cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`, 2);
      });
      const result = await verifyAuditExport(input);
      if (options.json) printJson(result);
      else if (result.ok) {
        process.stdout.write(
          `export intact: ${result.events} events${result.links ? ` and ${result.links} filtered-out links` : ""}, seq ${result.firstSeq ?? "-"} to ${result.lastSeq ?? "-"}\n` +
            `start anchor (hash before the first event): ${result.startAnchor ?? "-"}\nend anchor (hash of the last event): ${result.endAnchor ?? "-"}\n` +
            `exported ${result.exportedAt}; chain head then: ${result.chainHead ? `event ${result.chainHead.seq} (${result.chainHead.hash})` : "-"}\n`,
        );
      } else process.stdout.write(`EXPORT FAILS VERIFICATION: ${result.message}\n`);
      if (!result.ok) process.exitCode = 1;
    });

  audit
    .command("purge")
    .description("Delete events older than a time (ADMIN), keeping the rest verifiable through a checkpoint; BERTH_AUDIT_RETENTION_DAYS does this hourly")
    .requiredOption("--before <time>", "events strictly older than this go (ISO 8601; at least a day ago)")
    .option("--yes", "do it (without this, only says what would happen)")
    .option("--json", "print JSON")
    .action(async (options: { before: string; yes?: boolean; json?: boolean }, command: Command) => {
      const conn = connection(command);
      if (!options.yes) {
        const page = await callApi<{ events: AuditEvent[] }>(conn, "GET", `/api/v1/audit/events?${new URLSearchParams({ to: options.before, limit: "1" })}`);
        process.stdout.write(
          page.events.length
            ? `events before ${options.before} would be deleted for good (the newest is event ${page.events[0]!.seq}). Export them first if you must keep them, then run again with --yes.\n`
            : `no events are older than ${options.before}: nothing to purge\n`,
        );
        return;
      }
      const result = await callApi<{ purged: number; checkpoint: { throughSeq: string; continuesFromHash: string } | null }>(conn, "POST", "/api/v1/audit/purge", { before: options.before });
      if (options.json) return printJson(result);
      process.stdout.write(
        result.checkpoint
          ? `purged ${result.purged} events through event ${result.checkpoint.throughSeq}; the chain continues from ${result.checkpoint.continuesFromHash}\n`
          : "no events were old enough: nothing purged (the request is on the record)\n",
      );
    });
}
