import { runAgent } from "./agent";

/** The agent as a command runs it: log lines on stdout, stopped by SIGTERM or SIGINT. */
export async function runAgentUntilStopped(options: {
  url: string;
  token?: string;
  stateDir: string;
  caFile?: string;
  advertiseAddress?: string;
  bindAddress?: string;
  cacheMaxBytes?: number;
}): Promise<void> {
  const controller = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => controller.abort());
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(
      `${new Date().toISOString()} ${event}${Object.entries(fields)
        .map(([k, v]) => ` ${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join("")}\n`,
    );
  log("berth agent starting", { url: options.url, stateDir: options.stateDir });
  await runAgent({ ...options, url: options.url.replace(/\/+$/, ""), signal: controller.signal, log });
  log("berth agent stopped");
}
