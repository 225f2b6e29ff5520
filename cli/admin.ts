import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readSettings } from "@/lib/config/settings";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { pendingMigrations } from "@/lib/db/migrate";
import { disconnectDb } from "@/lib/db/client";
import { createApiToken, ZCreateApiToken } from "@/lib/auth/api-tokens";
import { systemActor, SYSTEM_REQUEST } from "@/lib/auth/actor";
import { describeIssues } from "@/lib/http/parse";
import { CliError } from "./http";
import { printJson } from "./output";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Admin commands run on the control-plane host and talk to the database
 * directly: they work when no token exists yet (automation, recovery).
 * With the embedded database they use the running one, or start it for the
 * duration of the command.
 */
async function withHostDatabase<T>(run: () => Promise<T>): Promise<T> {
  const settings = readSettings();
  let embedded: EmbeddedPostgres | undefined;
  if (!settings.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir, log: (line) => process.stderr.write(`[berth] ${line}\n`) });
    process.env.DATABASE_URL = embedded.connectionString;
  } else {
    process.env.DATABASE_URL = settings.databaseUrl;
  }
  try {
    const pending = await pendingMigrations({ databaseUrl: process.env.DATABASE_URL, root });
    if (pending.length > 0) throw new CliError(`the database schema is not current (${pending.length} migration(s) pending); start Berth once with \`npm start\` first`);
    return await run();
  } finally {
    await disconnectDb();
    if (embedded?.startedHere) await embedded.stop();
  }
}

export async function createTokenOnHost(options: { name: string; role: string; expiresAt?: string; infer?: boolean; json?: boolean }) {
  const parsed = ZCreateApiToken.safeParse({ name: options.name, role: options.role, expiresAt: options.expiresAt ?? null, ...(options.infer ? { canInfer: true } : {}) });
  if (!parsed.success) throw new CliError(describeIssues(parsed.error).map((i) => `${i.path}: ${i.message}`).join("\n"), 2);
  const who = `${os.userInfo().username}@${os.hostname()}`;
  const result = await withHostDatabase(() =>
    createApiToken({ actor: systemActor(`berth admin create-token (${who})`), request: SYSTEM_REQUEST, input: parsed.data }),
  );
  if (options.json) {
    printJson(result);
  } else {
    process.stderr.write(`created ${result.token.role} token "${result.token.name}" (${result.token.id}); it is shown once:\n`);
    process.stdout.write(`${result.secret}\n`);
  }
}
