// A stand-in inference runtime for the agent's Docker tests: answers the
// readiness path, reports what it sees (model file, env, args), prints log
// lines, and crashes or turns sick when told (env FAKE_CRASH_AFTER_MS,
// FAKE_NEVER_READY, or
// POST /admin/crash, /admin/sick, /admin/well).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";

const port = Number(process.env.PORT ?? 8080);
const modelPath = process.env.BERTH_MODEL_PATH ?? "";
const say = (line) => process.stdout.write(`${line}\n`);
let healthy = !process.env.FAKE_NEVER_READY;

let model = { bytes: null, sha256: null, writable: null };
try {
  const bytes = readFileSync(modelPath);
  let writable = true;
  try {
    writeFileSync(modelPath, "x", { flag: "a" });
  } catch {
    writable = false;
  }
  model = { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), writable };
} catch (error) {
  process.stderr.write(`cannot read model ${modelPath}: ${error.message}\n`);
}
say(`fake runtime starting model=${process.env.BERTH_MODEL_NAME} bytes=${model.bytes} port=${port}`);

const crashAfter = Number(process.env.FAKE_CRASH_AFTER_MS ?? 0);
if (crashAfter > 0) {
  setTimeout(() => {
    say("about to crash as told");
    process.stderr.write("fatal: told to crash\n");
    process.exit(3);
  }, crashAfter);
}

http
  .createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/v2/health/ready") return json(healthy ? 200 : 503, { ready: healthy });
    if (url.pathname === "/info") return json(200, { model, argv: process.argv.slice(2), env: process.env });
    if (req.method === "POST" && url.pathname === "/admin/sick") {
      healthy = false;
      say("turning sick");
      return json(200, {});
    }
    if (req.method === "POST" && url.pathname === "/admin/well") {
      healthy = true;
      say("well again");
      return json(200, {});
    }
    if (req.method === "POST" && url.pathname === "/admin/crash") {
      json(200, {});
      say("crashing on request");
      setTimeout(() => process.exit(4), 10);
      return;
    }
    json(404, { error: "not found" });
  })
  .listen(port, "0.0.0.0", () => say(`listening on ${port}`));
process.on("SIGTERM", () => {
  say("stopping on SIGTERM");
  process.exit(0);
});
