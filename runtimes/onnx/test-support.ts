/** Test helpers: the runtime server as a real child process. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const IRIS_V1 = path.join(REPO_ROOT, "samples/iris/iris-v1.onnx");

export type RunningServer = {
  child: ChildProcess;
  url: string;
  /** Every stdout/stderr line so far. */
  lines: string[];
  exited: Promise<number | null>;
  stop: () => Promise<void>;
};

/** Starts `node --import tsx runtimes/onnx/server.ts` on a free port and waits for its "listening" line. */
export function startServer(env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "runtimes/onnx/server.ts")], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "listening" && entry.port) {
          resolve({
            child,
            url: `http://127.0.0.1:${entry.port}`,
            lines,
            exited,
            stop: async () => {
              if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
              await exited;
            },
          });
        }
      } catch {
        // not a log line
      }
    };
    readline.createInterface({ input: child.stdout! }).on("line", onLine);
    readline.createInterface({ input: child.stderr! }).on("line", (line) => lines.push(line));
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${lines.join("\n")}`)));
  });
}

/** Polls GET {url}/v2/health/ready until 200. */
export async function waitReady(url: string, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      // Bounded per attempt: through docker's port proxy, an early connection can hang rather than fail.
      const res = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(300) });
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
