import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { connectTestDatabase, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import { blobPath, receiveArtifact } from "@/lib/blobs/blob-store";
import { createModel, deleteModel, listModels } from "./models";
import { deleteVersion, listVersions, registerVersion, updateVersion } from "./versions";

connectTestDatabase();
const blobDir = mkdtempSync(path.join(os.tmpdir(), "berth-registry-"));
const actor = systemActor("registry test");
const request = { requestId: "it", sourceAddress: "127.0.0.1", userAgent: null };
const iris = readFileSync(path.resolve(import.meta.dirname, "../../samples/iris/iris-v1.onnx"));

async function receive(bytes: Buffer) {
  return receiveArtifact({ source: Readable.from([bytes]), blobDir, maxBytes: 1e9 });
}

async function upload(model: string, bytes: Buffer, input: { format: "onnx" | "other"; version?: string } = { format: "other" }) {
  return registerVersion({ actor, request, modelName: model, input, file: await receive(bytes), blobDir });
}

describe("the registry", () => {
  it("numbers versions per model, reads ONNX signatures, and audits uploads with digest and size", async () => {
    await createModel({ actor, request, input: { name: "reg-iris", description: "", tags: ["a", "a", "b"] } });
    const v1 = await upload("reg-iris", iris, { format: "onnx" });
    const v2 = await upload("reg-iris", randomBytes(100));
    const v3 = await upload("reg-iris", randomBytes(100), { format: "other", version: "rc-1" });
    expect([v1.number, v2.number, v3.number]).toEqual([1, 2, 3]);
    expect([v1.label, v2.label, v3.label]).toEqual(["1", "2", "rc-1"]);
    expect(v1.signature?.inputs).toEqual([{ name: "input", type: "float32", shape: ["N", 4] }]);
    const event = await (await auditLog()).findFirst({ where: { action: "version.upload", targetId: v1.id } });
    expect(event?.details).toMatchObject({ sha256: v1.sha256, sizeBytes: iris.length, format: "onnx" });
    expect((await listModels({ search: "b", limit: 10 })).models.find((m) => m.name === "reg-iris")?.tags).toEqual(["a", "b"]);
  });

  it("refuses a taken label, a numeric label that is not the next number, and an invalid ONNX file, keeping nothing", async () => {
    await createModel({ actor, request, input: { name: "reg-refusals", description: "", tags: [] } });
    await upload("reg-refusals", randomBytes(10), { format: "other", version: "x" });
    const refusals = [
      upload("reg-refusals", randomBytes(10), { format: "other", version: "x" }),
      upload("reg-refusals", randomBytes(10), { format: "other", version: "7" }),
      upload("reg-refusals", Buffer.from("not onnx at all"), { format: "onnx" }),
      upload("no-such-model", randomBytes(10)),
    ];
    const codes = await Promise.all(refusals.map((p) => p.then(() => "ok", (e: { code: string }) => e.code)));
    expect(codes).toEqual(["conflict", "validation_failed", "unprocessable", "not_found"]);
    expect(await listVersions("reg-refusals")).toHaveLength(1);
    expect(existsSync(path.join(blobDir, "incoming")) ? (await import("node:fs")).readdirSync(path.join(blobDir, "incoming")) : []).toEqual([]);
  });

  it("stores identical content once, and deletes the file only with its last version", async () => {
    await createModel({ actor, request, input: { name: "reg-dedupe-a", description: "", tags: [] } });
    await createModel({ actor, request, input: { name: "reg-dedupe-b", description: "", tags: [] } });
    const bytes = randomBytes(4096);
    const a = await upload("reg-dedupe-a", bytes);
    const b = await upload("reg-dedupe-b", bytes);
    expect(a.sha256).toBe(b.sha256);
    expect(await getDb().blob.count({ where: { sha256: a.sha256 } })).toBe(1);
    await deleteVersion({ actor, request, modelName: "reg-dedupe-a", label: a.label, blobDir });
    expect(existsSync(blobPath(blobDir, a.sha256))).toBe(true);
    await deleteVersion({ actor, request, modelName: "reg-dedupe-b", label: b.label, blobDir });
    expect(existsSync(blobPath(blobDir, a.sha256))).toBe(false);
    expect(await getDb().blob.count({ where: { sha256: a.sha256 } })).toBe(0);
  });

  it("changes stage with an audit event naming from and to; deletes a model only without versions", async () => {
    await createModel({ actor, request, input: { name: "reg-stage", description: "", tags: [] } });
    const v = await upload("reg-stage", randomBytes(10));
    await updateVersion({ actor, request, modelName: "reg-stage", label: v.label, input: { stage: "production" } });
    const event = await (await auditLog()).findFirst({ where: { action: "version.stage", targetId: v.id } });
    expect(event?.details).toEqual({ from: "none", to: "production" });
    await expect(deleteModel({ actor, request, name: "reg-stage" })).rejects.toMatchObject({ code: "conflict" });
    await deleteVersion({ actor, request, modelName: "reg-stage", label: v.label, blobDir });
    await deleteModel({ actor, request, name: "reg-stage" });
    expect(await getDb().model.findUnique({ where: { name: "reg-stage" } })).toBeNull();
  });

  it("treats names with slashes, dots or '..' as unknown", async () => {
    for (const name of ["../etc", "a/b", ".hidden", "UPPER", ""]) {
      await expect(listVersions(name), name).rejects.toMatchObject({ code: "not_found" });
    }
  });

  it("leaves the audit chain valid", async () => {
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});
