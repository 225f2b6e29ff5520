import { createReadStream } from "node:fs";
import { copyFile, rename } from "node:fs/promises";
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
import { recordStandaloneAuditEvent } from "@/lib/audit/record-event";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { createBackup } from "@/lib/backup/backup";
import { restoreBackup, RestoreError } from "@/lib/backup/restore";
import { buildAgentImageArchive } from "@/agents/host-agent/image";
import { imageExists, loadImageArchive } from "@/runtimes/docker-images";
import { CliError } from "./http";
import { printJson } from "./output";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Admin commands run on the control-plane host and talk to the database
 * directly: they work when no token exists yet (automation, recovery).
 * With the embedded database they use the running one, or start it for the
 * duration of the command.
 */
async function withHostDatabase<T>(run: () => Promise<T>, options: { requireCurrentSchema?: boolean } = {}): Promise<T> {
  const settings = readSettings();
  let embedded: EmbeddedPostgres | undefined;
  if (!settings.databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: settings.dataDir, log: (line) => process.stderr.write(`[berth] ${line}\n`) });
    process.env.DATABASE_URL = embedded.connectionString;
  } else {
    process.env.DATABASE_URL = settings.databaseUrl;
  }
  try {
    const pending = options.requireCurrentSchema === false ? [] : await pendingMigrations({ databaseUrl: process.env.DATABASE_URL, root });
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

const hostUser = () => `${os.userInfo().username}@${os.hostname()}`;
const progress = (line: string) => process.stderr.write(`[berth] ${line}\n`);

/** `berth admin backup FILE`: the database and the artifacts, consistent, in one tar with a checksum beside it. */
export async function backupOnHost(file: string) {
  const settings = readSettings();
  await withHostDatabase(async () => {
    // On the record first, so the backup holds its own event.
    await recordStandaloneAuditEvent({
      actor: systemActor(`berth admin backup (${hostUser()})`),
      request: SYSTEM_REQUEST,
      action: "system.backup",
      target: { kind: "backup", label: path.basename(file) },
      details: { file: path.resolve(file) },
    });
    const manifest = await createBackup({ databaseUrl: process.env.DATABASE_URL!, blobDir: settings.blobDir, file, log: progress });
    process.stdout.write(
      `backup ${path.resolve(file)}: ${manifest.tables.reduce((n, t) => n + t.rows, 0)} rows in ${manifest.tables.length} tables, ${manifest.blobs.length} artifacts; sha256 ${manifest.fileSha256}\n` +
        "not included: the data folder's secrets (session-secret, sealing-key); keep a copy of them apart to decrypt registry passwords after a restore\n",
    );
  });
}

/** `berth admin restore FILE`: into an empty Berth (a new BERTH_DATA_DIR, or an empty DATABASE_URL database), then the chain is verified. */
export async function restoreOnHost(file: string) {
  const settings = readSettings();
  await withHostDatabase(
    async () => {
      const manifest = await restoreBackup({ databaseUrl: process.env.DATABASE_URL!, blobDir: settings.blobDir, file, root, log: progress }).catch((error: unknown) => {
        if (error instanceof RestoreError) throw new CliError(error.message);
        throw error;
      });
      await recordStandaloneAuditEvent({
        actor: systemActor(`berth admin restore (${hostUser()})`),
        request: SYSTEM_REQUEST,
        action: "system.restore",
        target: { kind: "backup", label: path.basename(file) },
        details: { backupCreatedAt: manifest.createdAt, backupBerthVersion: manifest.berthVersion, artifacts: manifest.blobs.length },
      });
      const chain = await verifyAuditChain();
      process.stdout.write(
        `restored the backup of ${manifest.createdAt} (Berth ${manifest.berthVersion}): ${manifest.tables.reduce((n, t) => n + t.rows, 0)} rows, ${manifest.blobs.length} artifacts\n` +
          (chain.ok ? `audit chain intact: ${chain.checked} events\n` : `AUDIT CHAIN BROKEN at event ${chain.seq}: ${chain.message}\n`) +
          "start Berth with this data folder (npm start); copy the old data folder's sealing-key first if runtimes have registry passwords\n",
      );
      if (!chain.ok) process.exitCode = 1;
    },
    { requireCurrentSchema: false },
  );
}

/**
 * Builds the agent's container image with no registry (agents/host-agent/image.ts),
 * loads it into this host's Docker Engine under the tag the enrolment `docker run`
 * line names, and/or writes the archive for other hosts (`docker load -i FILE`).
 * Touches no database: it is an admin command because it runs where Berth is installed.
 */
export async function buildAgentImageOnHost(options: { output?: string; load: boolean; json?: boolean }) {
  if (!options.load && !options.output) throw new CliError("nothing to do: --no-load needs --output FILE", 2);
  const settings = readSettings();
  const log = (line: string) => process.stderr.write(`[berth] ${line}\n`);
  const archive = await buildAgentImageArchive({ cacheDir: path.join(settings.dataDir, "images"), log });
  if (options.output) {
    const target = path.resolve(options.output);
    // Whole or not at all: a half-copied archive would fail `docker load` on the host it is carried to.
    const temporary = `${target}.${process.pid}.tmp`;
    await copyFile(archive.path, temporary);
    await rename(temporary, target);
    log(`wrote ${target} (${(archive.sizeBytes / 1e6).toFixed(1)} MB, sha256 ${archive.sha256}); on each host: docker load -i ${path.basename(target)}`);
  }
  if (options.load) {
    const Docker = (await import("dockerode")).default;
    const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
    try {
      await docker.ping();
    } catch (error) {
      throw new CliError(`cannot reach the Docker Engine (${(error as Error).message}); pass --no-load --output FILE to only write the archive`);
    }
    await loadImageArchive(docker, createReadStream(archive.path));
    if (!(await imageExists(docker, archive.tag))) throw new CliError(`docker load finished but ${archive.tag} is not in the engine`);
    log(`loaded ${archive.tag} into the local Docker Engine`);
  }
  if (options.json) printJson({ tag: archive.tag, sha256: archive.sha256, sizeBytes: archive.sizeBytes, archive: archive.path, output: options.output ? path.resolve(options.output) : null, loaded: options.load });
  else process.stdout.write(`${archive.tag}\n`);
}
