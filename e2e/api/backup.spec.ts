import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";

/**
 * The operator's commands, on the host: `berth admin backup` while Berth
 * runs (it uses the running embedded database), then `berth admin restore`
 * into a new data folder, which reports the audit chain intact.
 */
test("berth admin backup of a running Berth, restored into a new data folder, keeps a verifiable audit chain", async () => {
  test.setTimeout(240_000);
  const scratch = mkdtempSync(path.join(os.tmpdir(), "berth-backup-e2e-"));
  chmodSync(scratch, 0o711);
  const file = path.join(scratch, "berth.tar");
  const env = { ...process.env, BERTH_DATA_DIR: process.env.BERTH_E2E_DATA_DIR! };
  delete (env as Record<string, string | undefined>).DATABASE_URL;
  delete (env as Record<string, string | undefined>).BERTH_BLOB_DIR;

  const backup = spawnSync("node", ["bin/berth.mjs", "admin", "backup", file], { env, encoding: "utf8" });
  expect(backup.status, backup.stderr).toBe(0);
  expect(backup.stdout).toMatch(/^backup .*berth\.tar: \d+ rows in \d+ tables, \d+ artifacts; sha256 [0-9a-f]{64}/);
  expect(existsSync(`${file}.sha256`)).toBe(true);

  const restoredDir = path.join(scratch, "restored");
  const restore = spawnSync("node", ["bin/berth.mjs", "admin", "restore", file], { env: { ...env, BERTH_DATA_DIR: restoredDir }, encoding: "utf8" });
  expect(restore.status, restore.stderr + restore.stdout).toBe(0);
  expect(restore.stdout).toMatch(/audit chain intact: \d+ events/);

  // Restoring again into the now-used folder is refused, clearly.
  const again = spawnSync("node", ["bin/berth.mjs", "admin", "restore", file], { env: { ...env, BERTH_DATA_DIR: restoredDir }, encoding: "utf8" });
  expect(again.status).toBe(1);
  expect(again.stderr).toContain("already holds a Berth");
  rmSync(scratch, { recursive: true, force: true });
});
