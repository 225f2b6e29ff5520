import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { systemActor } from "@/lib/auth/actor";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { blobPath, receiveArtifact } from "@/lib/blobs/blob-store";
import { disconnectDb } from "@/lib/db/client";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@/lib/db/embedded-postgres";
import { applyMigrations } from "@/lib/db/migrate";
import { createModel } from "@/lib/registry/models";
import { registerVersion } from "@/lib/registry/versions";
import { createBackup } from "./backup";
import { restoreBackup } from "./restore";

/**
 * The round trip an operator relies on: a Berth with models, artifacts and an
 * audit chain is backed up, restored into a new, empty Berth, and the
 * restored one has the same rows, the same artifacts, and an audit chain that
 * still verifies with the same head. Two real PostgreSQL servers.
 */
const root = path.resolve(import.meta.dirname, "..", "..");
const log = () => {};
const clusters: EmbeddedPostgres[] = [];
let scratch = "";

afterAll(async () => {
  await disconnectDb();
  for (const cluster of clusters) await cluster.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function newDatabase(name: string): Promise<string> {
  const cluster = await startEmbeddedPostgres({ dataDir: path.join(scratch, name), takeOver: true });
  clusters.push(cluster);
  return cluster.connectionString;
}

async function counts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result: Record<string, number> = {};
    for (const table of ["users", "models", "model_versions", "blobs", "audit_events"]) {
      result[table] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]!.n);
    }
    return result;
  } finally {
    await client.end();
  }
}

describe("backup and restore", () => {
  it("round-trips the database and the artifacts; the audit chain still verifies; a damaged file is refused", async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), "berth-backup-"));
    await chmod(scratch, 0o711); // the postgres user must pass through (ENVIRONMENT.md)
    const sourceBlobs = path.join(scratch, "source-blobs");
    const targetBlobs = path.join(scratch, "target-blobs");

    // A source Berth with two models, three versions (two sharing one blob) and their audit events.
    const source = await newDatabase("source");
    await applyMigrations({ databaseUrl: source, root, log });
    process.env.DATABASE_URL = source;
    const actor = systemActor("backup test");
    const request = { requestId: "backup-it", sourceAddress: "127.0.0.1", userAgent: null };
    const iris = await readFile(path.join(root, "samples", "iris", "iris-v1.onnx"));
    for (const name of ["backup-iris", "backup-copy"]) await createModel({ actor, request, input: { name, description: "for the backup test", tags: ["t"] } });
    for (const [model, bytes] of [["backup-iris", iris], ["backup-copy", iris], ["backup-iris", Buffer.from("a second, different artifact")]] as const) {
      const file = await receiveArtifact({ source: Readable.from([bytes]), blobDir: sourceBlobs, maxBytes: 1e9 });
      await registerVersion({ actor, request, modelName: model, input: { format: model === "backup-iris" && bytes === iris ? "onnx" : "other" }, file, blobDir: sourceBlobs });
    }
    const sourceChain = await verifyAuditChain();
    expect(sourceChain.ok).toBe(true);
    await disconnectDb();

    const file = path.join(scratch, "berth.backup.tar");
    const manifest = await createBackup({ databaseUrl: source, blobDir: sourceBlobs, file, log });
    expect(manifest.blobs).toHaveLength(2);
    expect(manifest.tables.find((t) => t.name === "model_versions")?.rows).toBe(3);
    // An ordinary tar, and its checksum in sha256sum's own format.
    const listing = execFileSync("tar", ["-tf", file], { encoding: "utf8" });
    expect(listing).toContain("manifest.json");
    expect(listing).toContain(`blobs/sha256/${manifest.blobs[0]!.sha256.slice(0, 2)}/${manifest.blobs[0]!.sha256}`);
    expect(execFileSync("sha256sum", ["-c", `${path.basename(file)}.sha256`], { cwd: scratch, encoding: "utf8" })).toContain("OK");

    // A damaged copy is refused before anything is written.
    const damaged = path.join(scratch, "damaged.tar");
    const bytes = await readFile(file);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(damaged, bytes);
    await writeFile(`${damaged}.sha256`, (await readFile(`${file}.sha256`, "utf8")).replace(path.basename(file), "damaged.tar"));
    const target = await newDatabase("target");
    await expect(restoreBackup({ databaseUrl: target, blobDir: targetBlobs, file: damaged, root, log })).rejects.toThrow(/does not match damaged\.tar\.sha256/);

    // The real restore, into the new, empty Berth.
    await restoreBackup({ databaseUrl: target, blobDir: targetBlobs, file, root, log });
    expect(await counts(target)).toEqual(await counts(source));
    for (const blob of manifest.blobs) expect((await readFile(blobPath(targetBlobs, blob.sha256))).length).toBe(blob.sizeBytes);
    process.env.DATABASE_URL = target;
    const restoredChain = await verifyAuditChain();
    expect(restoredChain).toMatchObject({ ok: true, checked: sourceChain.checked });
    expect(restoredChain.ok && sourceChain.ok && restoredChain.headHash).toBe(sourceChain.ok && sourceChain.headHash);

    // The restored Berth keeps working: new events chain on, sequences continue.
    await createModel({ actor, request, input: { name: "after-restore", description: "", tags: [] } });
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, checked: sourceChain.checked + 1 });

    // A second restore into the same (now used) Berth is refused.
    await expect(restoreBackup({ databaseUrl: target, blobDir: targetBlobs, file, root, log })).rejects.toThrow(/already holds a Berth/);
    await disconnectDb();
  }, 180_000);
});
