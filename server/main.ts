/**
 * `npm start`: everything Berth needs, in order, failing fast with a clear
 * message at the first step that cannot work.
 *   1. the database: DATABASE_URL, or an embedded PostgreSQL in the data folder
 *   2. migrations (forward only)
 *   3. the first admin from BERTH_ADMIN_EMAIL / BERTH_ADMIN_PASSWORD, if set and no user exists
 *   4. the web build, when missing or stale
 *   5. the HTTP server: a small Node server in front of Next (server/http.ts)
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readSettings } from "@/lib/config/settings";
import { readOrCreateSecret, startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { applyMigrations } from "@/lib/db/migrate";
import { disconnectDb } from "@/lib/db/client";
import { createFirstAdmin, userCount, ZFirstAdmin } from "@/lib/auth/users";
import { SYSTEM_REQUEST } from "@/lib/auth/actor";
import { SYSTEM_ACTOR } from "@/lib/audit/record-event";
import { describeIssues } from "@/lib/http/parse";
import { sweepIncoming } from "@/lib/blobs/blob-store";
import { ensureBuiltinRuntimes } from "@/lib/deployments/runtimes";
import { onnxRuntimeImageTag } from "@/runtimes/onnx/image";
import { buildIsCurrent, buildWebApp, ensureAgentBundle } from "./build";
import { startHttpServer } from "./http";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const say = (line: string) => process.stdout.write(`[berth] ${line}\n`);

function fail(message: string): never {
  process.stderr.write(`[berth] cannot start: ${message}\n`);
  process.exit(1);
}

/** One Berth per data folder: a second one would stop the first one's database. */
function claimDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, "berth.pid");
  if (existsSync(lockFile)) {
    const pid = Number(readFileSync(lockFile, "utf8").trim());
    let alive = false;
    try {
      if (pid > 0 && pid !== process.pid) {
        process.kill(pid, 0);
        alive = readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("node");
      }
    } catch {
      alive = false;
    }
    if (alive) fail(`another Berth (pid ${pid}) is already running with the data folder ${dataDir}`);
  }
  writeFileSync(lockFile, `${process.pid}\n`, { mode: 0o644 });
  return () => {
    try {
      if (readFileSync(lockFile, "utf8").trim() === String(process.pid)) rmSync(lockFile);
    } catch {
      /* already gone */
    }
  };
}

async function bootstrapAdminFromEnvironment(email: string | undefined, password: string | undefined) {
  if (!email && !password) return;
  if (!email || !password) fail("set both BERTH_ADMIN_EMAIL and BERTH_ADMIN_PASSWORD, or neither");
  if ((await userCount()) > 0) return;
  const parsed = ZFirstAdmin.safeParse({ email, password, name: "Administrator" });
  if (!parsed.success) {
    fail(`BERTH_ADMIN_EMAIL/BERTH_ADMIN_PASSWORD: ${describeIssues(parsed.error).map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
  const admin = await createFirstAdmin({ input: parsed.data, via: { ...SYSTEM_ACTOR, label: "BERTH_ADMIN_EMAIL on first start" }, request: SYSTEM_REQUEST });
  say(`created the first administrator ${admin.email} from BERTH_ADMIN_EMAIL`);
}

async function main() {
  const started = Date.now();
  const buildOnly = process.argv.includes("--build-only");
  const dev = process.env.BERTH_DEV === "1";
  let settings;
  try {
    settings = readSettings();
  } catch (error) {
    fail((error as Error).message);
  }

  if (buildOnly) {
    await buildWebApp(root, say);
    return;
  }

  await mkdir(settings.dataDir, { recursive: true, mode: 0o711 });
  const releaseDataDir = claimDataDir(settings.dataDir);

  let embedded: EmbeddedPostgres | undefined;
  let databaseUrl = settings.databaseUrl;
  if (!databaseUrl) {
    try {
      embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir, log: say, takeOver: true });
    } catch (error) {
      releaseDataDir();
      fail((error as Error).message);
    }
    databaseUrl = embedded.connectionString;
  } else {
    say("using the PostgreSQL server named by DATABASE_URL");
  }
  process.env.DATABASE_URL = databaseUrl;

  process.env.NEXTAUTH_SECRET = settings.secret ?? (await readOrCreateSecret(settings.dataDir, "session-secret"));
  // Seals registry passwords (lib/auth/sealing.ts); replicas of the control plane must share it.
  process.env.BERTH_SEALING_KEY ||= await readOrCreateSecret(settings.dataDir, "sealing-key");
  if (settings.publicUrl) process.env.NEXTAUTH_URL = settings.publicUrl;
  // Without a configured public URL, sign-in works on whatever name the
  // browser used (an on-premises host is often reached by IP or several names).
  else process.env.AUTH_TRUST_HOST = "1";

  const shutdown = async (signal: string) => {
    say(`${signal}: shutting down`);
    await server?.close();
    await disconnectDb().catch(() => {});
    await embedded?.stop().catch(() => {});
    releaseDataDir();
    process.exit(0);
  };
  let server: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  try {
    const applied = await applyMigrations({ databaseUrl, root, log: say });
    if (applied === 0) say("database schema is up to date");
    await bootstrapAdminFromEnvironment(settings.adminEmail, settings.adminPassword);
    await ensureBuiltinRuntimes({ onnxImage: onnxRuntimeImageTag() });
    // One-shot uploads cut off by a crash leave files in incoming/; nothing refers to them.
    const swept = await sweepIncoming({ blobDir: settings.blobDir, olderThanMs: 3_600_000 });
    if (swept > 0) say(`removed ${swept} unfinished upload file(s) left by an earlier run`);
    if (!dev && !buildIsCurrent(root)) await buildWebApp(root, say);
    await ensureAgentBundle(root);
    server = await startHttpServer({ root, dev, host: settings.host, port: settings.port });
  } catch (error) {
    await embedded?.stop().catch(() => {});
    releaseDataDir();
    fail((error as Error).message);
  }

  const shownHost = settings.host === "0.0.0.0" || settings.host === "::" ? "localhost" : settings.host;
  const url = settings.publicUrl ?? `http://${shownHost}:${server.port}`;
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if ((await userCount()) === 0) say(`no administrator yet: open ${url}/setup to create one`);
  say(`Berth is running at ${url}`);
}

void main();
