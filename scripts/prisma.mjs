#!/usr/bin/env node
// Runs the Prisma CLI the offline way: the wasm schema engine (prisma.config.ts),
// DATABASE_URL always set (else `generate` reaches for a native engine download),
// and long timers unref'd so the process exits when its work is done.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
// `generate` never connects; a placeholder keeps the CLI on the offline path.
env.DATABASE_URL ??= "postgresql://offline@127.0.0.1:1/offline";
const result = spawnSync(
  process.execPath,
  ["-r", path.join(root, "scripts/unref-timers.cjs"), path.join(root, "node_modules/prisma/build/index.js"), ...process.argv.slice(2)],
  { cwd: root, env, stdio: "inherit" },
);
process.exit(result.status ?? 1);
