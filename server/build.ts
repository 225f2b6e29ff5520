import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

// What the web build is made from. A change to any of these makes `npm start`
// rebuild, so a `git pull` never serves a stale UI.
const INPUTS = ["app", "components", "lib", "public", "next.config.ts", "postcss.config.mjs", "package-lock.json", "tsconfig.json"];

function collect(root: string, relative: string, into: string[]) {
  const full = path.join(root, relative);
  if (!existsSync(full)) return;
  const stat = statSync(full);
  if (stat.isDirectory()) {
    for (const entry of readdirSync(full).sort()) collect(root, path.join(relative, entry), into);
  } else {
    into.push(`${relative}\0${stat.size}\0${stat.mtimeMs}`);
  }
}

export function buildFingerprint(root: string): string {
  const entries: string[] = [];
  for (const input of INPUTS) collect(root, input, entries);
  return createHash("sha256").update(entries.join("\n")).digest("hex");
}

const FINGERPRINT_FILE = ".next/berth-build-fingerprint";

export function buildIsCurrent(root: string): boolean {
  const file = path.join(root, FINGERPRINT_FILE);
  if (!existsSync(path.join(root, ".next", "BUILD_ID")) || !existsSync(file)) return false;
  return readFileSync(file, "utf8").trim() === buildFingerprint(root);
}

export async function buildWebApp(root: string, log: (line: string) => void): Promise<void> {
  const fingerprint = buildFingerprint(root);
  log("building the web app (first start, or the code changed); this takes a minute");
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
      cwd: root,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`next build failed (exit ${code}); see the output above`);
  writeFileSync(path.join(root, FINGERPRINT_FILE), fingerprint + "\n");
  log(`web app built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export const AGENT_BUNDLE = "dist/berth-agent.mjs";

/**
 * The single-file agent that hosts download from /downloads/berth-agent.mjs.
 * Built on start when missing or older than the agent's sources (under a second).
 */
export async function ensureAgentBundle(root: string): Promise<void> {
  const bundle = path.join(root, AGENT_BUNDLE);
  if (existsSync(bundle)) {
    const sources: string[] = [];
    for (const input of ["agents", "lib/protocol", "runtimes/docker-images.ts", "package-lock.json"]) collect(root, input, sources);
    const newest = Math.max(...sources.map((entry) => Number(entry.split("\0")[2])));
    if (statSync(bundle).mtimeMs >= newest) return;
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "scripts", "build-agent.mjs")], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`building the agent bundle failed (exit ${code}); see the output above`);
}
