import { createReadStream } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import pg from "pg";
import { blobPath, syncPath } from "@/lib/blobs/blob-store";
import { applyMigrations, pendingMigrations } from "@/lib/db/migrate";
import { BACKUP_FORMAT, BACKUP_VERSION, run, sha256File, type BackupManifest, type Log } from "./backup";

/**
 * Restores a backup into an empty Berth (a new data folder, or an empty
 * external database): checks every checksum before touching anything,
 * creates the schema the backup was taken at (its own migrations), loads the
 * rows, puts the artifacts in place, then applies any newer migrations, as
 * an upgrade would. A backup from a newer Berth is refused.
 */
const INSERT_BATCH = 1000;

export class RestoreError extends Error {}

async function readManifest(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as BackupManifest;
  } catch {
    throw new RestoreError("the file has no readable manifest.json: it is not a Berth backup, or it is damaged");
  }
  if (manifest.format !== BACKUP_FORMAT) throw new RestoreError(`manifest.json says format ${JSON.stringify(manifest.format)}, not ${BACKUP_FORMAT}`);
  if (manifest.version !== BACKUP_VERSION) throw new RestoreError(`backup format version ${manifest.version} is not one this Berth reads (${BACKUP_VERSION})`);
  return manifest;
}

async function verifyContents(dir: string, manifest: BackupManifest, log: Log) {
  for (const table of manifest.tables) {
    const actual = await sha256File(path.join(dir, table.file)).catch(() => null);
    if (actual !== table.sha256) throw new RestoreError(`${table.file} ${actual ? "does not match its checksum" : "is missing"}: the backup is damaged`);
  }
  for (const blob of manifest.blobs) {
    const file = path.join(dir, "blobs", path.relative("/b", blobPath("/b", blob.sha256)));
    const actual = await sha256File(file).catch(() => null);
    if (actual !== blob.sha256) throw new RestoreError(`artifact ${blob.sha256} ${actual ? "does not match its digest" : "is missing"}: the backup is damaged`);
  }
  log(`checked ${manifest.tables.length} tables and ${manifest.blobs.length} artifacts against their checksums`);
}

async function assertEmpty(client: pg.Client) {
  const present = await client.query<{ present: boolean }>("SELECT to_regclass('public.users') IS NOT NULL AS present");
  if (!present.rows[0]?.present) return;
  const rows = await client.query<{ n: string }>("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM audit_events) AS n");
  if (Number(rows.rows[0]?.n) > 0) {
    throw new RestoreError("the target database already holds a Berth (it has users or audit events): restore into a new BERTH_DATA_DIR or an empty database");
  }
}

async function loadTable(client: pg.Client, table: string, file: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let batch: string[] = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await client.query(`INSERT INTO "${table}" SELECT * FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb)`, [`[${batch.join(",")}]`]);
    rows += batch.length;
    batch = [];
  };
  for await (const line of lines) {
    if (!line) continue;
    batch.push(line);
    if (batch.length >= INSERT_BATCH) await flush();
  }
  await flush();
  return rows;
}

/** Sequences behind serial columns continue after the restored rows. */
async function resetSequences(client: pg.Client) {
  const serials = await client.query<{ table: string; column: string; sequence: string }>(`
    SELECT c.table_name AS table, c.column_name AS column, pg_get_serial_sequence(format('%I', c.table_name), c.column_name) AS sequence
      FROM information_schema.columns c
     WHERE c.table_schema = 'public' AND pg_get_serial_sequence(format('%I', c.table_name), c.column_name) IS NOT NULL`);
  for (const s of serials.rows) {
    await client.query(`SELECT setval($1, coalesce((SELECT max("${s.column}") FROM "${s.table}"), 0) + 1, false)`, [s.sequence]);
  }
}

export async function restoreBackup(options: { databaseUrl: string; blobDir: string; file: string; root: string; log: Log }): Promise<BackupManifest> {
  const { log, root } = options;
  const file = path.resolve(options.file);
  const sums = await readFile(`${file}.sha256`, "utf8").catch(() => null);
  if (sums) {
    const expected = sums.split(/\s+/)[0];
    if ((await sha256File(file)) !== expected) throw new RestoreError(`${path.basename(file)} does not match ${path.basename(file)}.sha256: the file is damaged or was altered`);
    log(`${path.basename(file)} matches ${path.basename(file)}.sha256`);
  } else {
    log(`no ${path.basename(file)}.sha256 beside the file: checking the manifest's checksums only`);
  }

  await mkdir(options.blobDir, { recursive: true });
  // Unpacked beside the blob store, so artifacts move into place by rename, not copy.
  const staging = await mkdtemp(path.join(options.blobDir, ".restore-"));
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await run("tar", ["--extract", "--file", file, "--directory", staging]).catch((error: Error) => {
      throw new RestoreError(`cannot unpack ${file}: ${error.message}`);
    });
    const manifest = await readManifest(staging);
    await verifyContents(staging, manifest, log);
    await assertEmpty(client);

    const known = (await readdir(path.join(root, "prisma", "migrations"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    const unknown = manifest.migrations.filter((name) => !known.includes(name));
    if (unknown.length) throw new RestoreError(`the backup comes from a newer Berth (${manifest.berthVersion}; migrations ${unknown.join(", ")} are unknown here): upgrade Berth first`);

    // The schema as it was when the backup was taken.
    const atBackup = path.join(staging, "migrations");
    await mkdir(atBackup);
    await cp(path.join(root, "prisma", "migrations", "migration_lock.toml"), path.join(atBackup, "migration_lock.toml"));
    for (const name of manifest.migrations) await cp(path.join(root, "prisma", "migrations", name), path.join(atBackup, name), { recursive: true });
    await applyMigrations({ databaseUrl: options.databaseUrl, root, migrationsDir: atBackup, log });

    // Rows go in as they were: foreign keys and the audit log's append-only
    // triggers are off for this session only (needs a superuser, which the
    // embedded database's role is), and everything commits together.
    await client.query("BEGIN");
    await client.query("SET LOCAL session_replication_role = replica");
    for (const table of manifest.tables) {
      if (table.name === "_prisma_migrations") continue; // written by the migrations above
      const rows = await loadTable(client, table.name, path.join(staging, table.file));
      if (rows !== table.rows) throw new RestoreError(`${table.file}: loaded ${rows} rows, the manifest says ${table.rows}`);
      log(`database: ${table.name} (${rows} rows)`);
    }
    await resetSequences(client);
    await client.query("COMMIT");

    for (const blob of manifest.blobs) {
      const from = path.join(staging, "blobs", path.relative("/b", blobPath("/b", blob.sha256)));
      const to = blobPath(options.blobDir, blob.sha256);
      await mkdir(path.dirname(to), { recursive: true });
      await rename(from, to);
      await syncPath(to);
    }
    await syncPath(options.blobDir);
    log(`artifacts: ${manifest.blobs.length} in place`);

    const newer = await pendingMigrations({ databaseUrl: options.databaseUrl, root });
    if (newer.length) {
      log(`upgrading the restored database: ${newer.join(", ")}`);
      await applyMigrations({ databaseUrl: options.databaseUrl, root, log });
    }
    return manifest;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
    await rm(staging, { recursive: true, force: true });
  }
}
