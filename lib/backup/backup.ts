import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { access, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { blobPath } from "@/lib/blobs/blob-store";
import { BERTH_VERSION } from "@/lib/version";

/**
 * Backups: the database and the artifacts, consistent with each other, in
 * one tar file any operator can list with `tar -tf`:
 *
 *   manifest.json            format, Berth version, migrations, per-file SHA-256 and row counts
 *   db/<table>.jsonl         every row of every table, one JSON object per line
 *   blobs/sha256/ab/<digest> every artifact a version references (content-addressed)
 *
 * plus FILE.sha256 beside it (`sha256sum -c` format) for the whole file.
 *
 * Consistency: the rows come from one REPEATABLE READ snapshot, and every
 * artifact the snapshot references is held with a shared advisory lock on its
 * digest (the lock version deletion takes exclusively before removing a
 * blob), so no artifact can disappear between the snapshot and the copy.
 * Secrets kept in the data folder (the session secret, the sealing key for
 * registry passwords) are not in the backup: keep them apart (docs/backup.md).
 */
export const BACKUP_FORMAT = "berth-backup";
export const BACKUP_VERSION = 1;

export type BackupManifest = {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  berthVersion: string;
  createdAt: string;
  migrations: string[];
  tables: { name: string; rows: number; file: string; sha256: string }[];
  blobs: { sha256: string; sizeBytes: number }[];
};

export type Log = (line: string) => void;

const FETCH = 2000;

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

export function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => reject(new Error(`${command} could not run: ${error.message}`)));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`))));
  });
}

export const blobKey = (sha256: string) => `blob:${sha256}`;

async function dumpTable(client: pg.Client, table: string, file: string): Promise<{ rows: number; sha256: string }> {
  const out = createWriteStream(file);
  const hash = createHash("sha256");
  let rows = 0;
  const cursor = `backup_${table.replace(/\W/g, "_")}`;
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT to_jsonb(t)::text AS row FROM "${table}" t`);
  for (;;) {
    const batch = await client.query<{ row: string }>(`FETCH ${FETCH} FROM ${cursor}`);
    if (batch.rows.length === 0) break;
    const text = `${batch.rows.map((r) => r.row).join("\n")}\n`;
    hash.update(text);
    rows += batch.rows.length;
    if (!out.write(text)) await once(out, "drain");
  }
  await client.query(`CLOSE ${cursor}`);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { rows, sha256: hash.digest("hex") };
}

/** Writes a backup of the database at `databaseUrl` and the artifacts under `blobDir` to `file`. */
export async function createBackup(options: { databaseUrl: string; blobDir: string; file: string; log: Log }): Promise<BackupManifest & { fileSha256: string }> {
  const { log } = options;
  const target = path.resolve(options.file);
  await access(path.dirname(target)).catch(() => {
    throw new Error(`cannot write ${target}: its folder does not exist`);
  });
  const staging = await mkdtemp(path.join(path.dirname(target), ".berth-backup-"));
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    // Hold every artifact that exists now before the snapshot, so none can be deleted under us.
    const before = await client.query<{ sha256: string }>(`SELECT sha256 FROM blobs`);
    for (const { sha256 } of before.rows) await client.query(`SELECT pg_advisory_lock_shared(hashtextextended($1, 0))`, [blobKey(sha256)]);
    const held = new Set(before.rows.map((r) => r.sha256));

    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const tables = (
      await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)
    ).rows.map((r) => r.name);
    const migrations = (
      await client.query<{ name: string }>(`SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`)
    ).rows.map((r) => r.name);
    const blobs = (await client.query<{ sha256: string; size: string }>(`SELECT sha256, size_bytes::text AS size FROM blobs ORDER BY sha256`)).rows.map((r) => ({
      sha256: r.sha256,
      sizeBytes: Number(r.size),
    }));
    for (const blob of blobs) {
      if (!held.has(blob.sha256)) await client.query(`SELECT pg_advisory_lock_shared(hashtextextended($1, 0))`, [blobKey(blob.sha256)]);
      await access(blobPath(options.blobDir, blob.sha256)).catch(() => {
        throw new Error(`artifact ${blob.sha256} is in the database but not in ${options.blobDir}: it was deleted during the backup, or the blob folder is not this Berth's (check BERTH_BLOB_DIR); run the backup again`);
      });
    }

    await mkdir(path.join(staging, "db"));
    const dumped: BackupManifest["tables"] = [];
    for (const table of tables) {
      const file = `db/${table}.jsonl`;
      const { rows, sha256 } = await dumpTable(client, table, path.join(staging, file));
      dumped.push({ name: table, rows, file, sha256 });
      log(`database: ${table} (${rows} rows)`);
    }
    await client.query("COMMIT");

    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      berthVersion: BERTH_VERSION,
      createdAt: new Date().toISOString(),
      migrations,
      tables: dumped,
      blobs,
    };
    await writeFile(path.join(staging, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    const totalBytes = blobs.reduce((sum, b) => sum + b.sizeBytes, 0);
    log(`artifacts: ${blobs.length} (${(totalBytes / 1024 ** 2).toFixed(1)} MiB)`);

    // GNU tar: handles artifacts of any size, and anyone can list or unpack the result.
    const blobList = path.join(staging, "blobs.list");
    await writeFile(blobList, blobs.map((b) => path.relative(options.blobDir, blobPath(options.blobDir, b.sha256))).join("\n") + (blobs.length ? "\n" : ""));
    const partial = `${target}.partial`;
    await run("tar", [
      "--create", "--format=gnu", "--file", partial,
      "--directory", staging, "manifest.json", "db",
      "--directory", options.blobDir, "--transform", "s,^sha256/,blobs/sha256/,", "--files-from", blobList,
    ]);
    const fileSha256 = await sha256File(partial);
    await rename(partial, target);
    await writeFile(`${target}.sha256`, `${fileSha256}  ${path.basename(target)}\n`);
    log(`wrote ${target} (sha256 ${fileSha256}) and ${path.basename(target)}.sha256`);
    return { ...manifest, fileSha256 };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
    await rm(staging, { recursive: true, force: true });
  }
}
