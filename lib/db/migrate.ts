import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";

/**
 * Applies prisma/migrations with Prisma's own `migrate deploy`, so a site with
 * internet access can run the stock CLI on the same folder. The CLI costs
 * about 1.5 s even with nothing to do, so a start whose `_prisma_migrations`
 * already lists every folder skips it.
 */
type MigrationOptions = {
  databaseUrl: string;
  root: string;
  /** Another migrations folder (the upgrade test's copy of an earlier release's); default prisma/migrations. */
  migrationsDir?: string;
};

export async function pendingMigrations(options: MigrationOptions): Promise<string[]> {
  const folder = options.migrationsDir ?? path.join(options.root, "prisma", "migrations");
  const onDisk = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const exists = await client.query<{ present: boolean }>("SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present");
    if (!exists.rows[0]?.present) return onDisk;
    const applied = await client.query<{ migration_name: string }>(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
    );
    const done = new Set(applied.rows.map((r) => r.migration_name));
    return onDisk.filter((name) => !done.has(name));
  } finally {
    await client.end();
  }
}

export async function applyMigrations(options: MigrationOptions & { log: (line: string) => void }): Promise<number> {
  const pending = await pendingMigrations(options);
  if (pending.length === 0) return 0;
  options.log(`applying ${pending.length} database migration(s): ${pending.join(", ")}`);
  const output: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(options.root, "scripts", "prisma.mjs"), "migrate", "deploy"], {
      cwd: options.root,
      env: { ...process.env, DATABASE_URL: options.databaseUrl, ...(options.migrationsDir ? { BERTH_MIGRATIONS_DIR: options.migrationsDir } : {}) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) {
    throw new Error(`Database migration failed (prisma migrate deploy exited ${code}):\n${output.join("").trim()}`);
  }
  return pending.length;
}
