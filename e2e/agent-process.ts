import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** A real `berth agent` process, its log captured for assertions. */
export function startAgent(options: { url: string; token?: string; stateDir?: string; args?: string[] }) {
  const stateDir = options.stateDir ?? mkdtempSync(path.join(process.env.BERTH_E2E_DATA_DIR ?? os.tmpdir(), "agent-"));
  let log = "";
  const child: ChildProcess = spawn(
    process.execPath,
    ["bin/berth.mjs", "agent", "--url", options.url, ...(options.token ? ["--token", options.token] : []), "--state-dir", stateDir, ...(options.args ?? [])],
    { env: { ...process.env, BERTH_TOKEN: "", BERTH_URL: "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  return {
    stateDir,
    child,
    log: () => log,
    lines: (event: string) => log.split("\n").filter((line) => line.split(" ")[1] === event.split(" ")[0] && line.includes(event)),
    stop: (signal: NodeJS.Signals = "SIGTERM") =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
    credentialFile: () => readFileSync(path.join(stateDir, "agent.json"), "utf8"),
  };
}
