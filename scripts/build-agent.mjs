#!/usr/bin/env node
// Bundles the host agent into one file, dist/berth-agent.mjs, that needs only
// `node` (20 or newer) on the host: no npm install there. dockerode's optional
// SSH transport pulls in native addons; they stay external and unused.
// `--outfile FILE` writes it elsewhere: the agent's container image
// (agents/host-agent/image.ts) puts this same bundle into its root filesystem.
import { build } from "esbuild";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { outfile: { type: "string" } } });
const outfile = path.resolve(values.outfile ?? path.join(root, "dist/berth-agent.mjs"));
const started = Date.now();
await build({
  entryPoints: [path.join(root, "agents/host-agent/cli.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  alias: { "@": root },
  external: ["cpu-features", "*.node"],
  // CommonJS dependencies in an ES module bundle still expect these.
  banner: {
    js: [
      "import { createRequire as __berthCreateRequire } from 'node:module';",
      "import { fileURLToPath as __berthFileURLToPath } from 'node:url';",
      "import { dirname as __berthDirname } from 'node:path';",
      "const require = __berthCreateRequire(import.meta.url);",
      "const __filename = __berthFileURLToPath(import.meta.url);",
      "const __dirname = __berthDirname(__filename);",
    ].join(" "),
  },
  logLevel: "warning",
});
const shown = path.relative(process.cwd(), outfile);
process.stdout.write(`[berth] agent bundle ${shown.startsWith("..") ? outfile : shown} built in ${Date.now() - started} ms\n`);
