import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../lib/db/embedded-postgres";
import { applyMigrations } from "../lib/db/migrate";

/**
 * Integration tests run against a real PostgreSQL: the embedded one in a
 * throw-away data folder, with the real migrations applied, or the server
 * named by BERTH_TEST_DATABASE_URL.
 */
export default async function setup(project: TestProject) {
  const root = path.resolve(import.meta.dirname, "..");
  let url = process.env.BERTH_TEST_DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "berth-it-"));
    await chmod(dataDir, 0o711); // the postgres user must pass through (ENVIRONMENT.md)
    const pg = await startEmbeddedPostgres({ dataDir, takeOver: true });
    url = pg.connectionString;
    stop = async () => {
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  await applyMigrations({ databaseUrl: url, root, log: () => {} });
  project.provide("databaseUrl", url);
  return stop;
}

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
