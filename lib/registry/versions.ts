import { rm } from "node:fs/promises";
import type { ModelVersion, Prisma } from "@prisma/client";
import { getDb, type Tx } from "@/lib/db/client";
import { pooledSql } from "@/lib/db/sql";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { blobPath, placeBlob, removeBlob, type ReceivedFile } from "@/lib/blobs/blob-store";
import { assertModelName, notFoundModel } from "./models";
import { OnnxParseError, readOnnxSignature, type OnnxSignature } from "./onnx-signature";
import { fromDbFormat, fromDbStage, toDbFormat, toDbStage, ZVersionLabel, type Format, type Stage, type TUpdateVersion, type TVersionUpload } from "./schemas";

export type VersionView = {
  id: string;
  model: string;
  number: number;
  label: string;
  format: Format;
  sizeBytes: number;
  sha256: string;
  fileName: string | null;
  metadata: Record<string, unknown>;
  signature: OnnxSignature | null;
  stage: Stage;
  uploadedBy: string;
  createdAt: string;
};

export function versionView(version: ModelVersion, modelName: string): VersionView {
  return {
    id: version.id,
    model: modelName,
    number: version.number,
    label: version.label,
    format: fromDbFormat(version.format),
    sizeBytes: Number(version.sizeBytes),
    sha256: version.sha256,
    fileName: version.fileName,
    metadata: version.metadata as Record<string, unknown>,
    signature: version.signature as OnnxSignature | null,
    stage: fromDbStage(version.stage),
    uploadedBy: version.uploadedBy,
    createdAt: version.createdAt.toISOString(),
  };
}

function notFoundVersion(model: string, label: string) {
  return new BerthError("not_found", `Model "${model}" has no version "${label}"`);
}

// Serialises everything that adds or removes a reference to one blob, so a
// delete that drops the last reference cannot race an upload that adds one.
async function lockBlob(tx: Tx, sha256: string) {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`blob:${sha256}`}, 0))`;
}

async function findModelForUpdate(tx: Tx, name: string) {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM models WHERE name = ${name} FOR UPDATE`;
  const id = rows[0]?.id;
  if (!id) throw notFoundModel(name);
  return id;
}

/**
 * Checks what the upload may claim before any byte is stored, so a refused
 * upload costs nothing: the model exists, the label is well-formed and free.
 */
export async function checkVersionUpload(options: { modelName: string; input: TVersionUpload }): Promise<void> {
  const name = assertModelName(options.modelName);
  const model = await getDb().model.findUnique({ where: { name }, select: { id: true } });
  if (!model) throw notFoundModel(name);
  if (options.input.version) await assertLabelFree(getDb(), model.id, name, options.input.version);
}

/**
 * A resumable upload is accepted (POST /api/v1/uploads): checks what it claims,
 * as checkVersionUpload does, and records `version.upload_start` before any
 * byte is stored. The version itself is recorded (`version.upload`) when the
 * last byte arrives; the chunks in between are not events.
 */
export async function startVersionUpload(options: { actor: Actor; request: RequestContext; modelName: string; input: TVersionUpload; uploadId: string; sizeBytes: number }): Promise<void> {
  const name = assertModelName(options.modelName);
  await getDb().$transaction(async (tx) => {
    const model = await tx.model.findUnique({ where: { name }, select: { id: true } });
    if (!model) throw notFoundModel(name);
    if (options.input.version) await assertLabelFree(tx, model.id, name, options.input.version);
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "version.upload_start",
      target: { kind: "model", id: model.id, label: name },
      details: { uploadId: options.uploadId, sizeBytes: options.sizeBytes, format: options.input.format, version: options.input.version ?? null, fileName: options.input.fileName ?? null },
    });
  });
}

/** A resumable upload is cancelled (DELETE /api/v1/uploads/{id}); recorded before its bytes are removed. */
export async function recordVersionUploadCancel(options: { actor: Actor; request: RequestContext; modelName: string; uploadId: string; sizeBytes: number | null; receivedBytes: number }): Promise<void> {
  await getDb().$transaction((tx) =>
    recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "version.upload_cancel",
      // The model may have gone since the upload started: its name is enough.
      target: { kind: "model", label: options.modelName.slice(0, 200) },
      details: { uploadId: options.uploadId, sizeBytes: options.sizeBytes, receivedBytes: options.receivedBytes },
    }),
  );
}

async function assertLabelFree(db: Pick<Tx, "modelVersion">, modelId: string, modelName: string, label: string) {
  if (await db.modelVersion.findFirst({ where: { modelId, label }, select: { id: true } })) {
    throw new BerthError("conflict", `Model "${modelName}" already has a version "${label}"`);
  }
}

/**
 * Registers a received, digest-verified file as the model's next version.
 * The file moves to its content address inside the transaction that creates
 * the version and its audit event; if anything fails, the file is removed
 * and nothing is recorded.
 */
export async function registerVersion(options: {
  actor: Actor;
  request: RequestContext;
  modelName: string;
  input: TVersionUpload & { metadata?: Record<string, unknown> };
  file: ReceivedFile;
  blobDir: string;
}): Promise<VersionView> {
  const { actor, input, file } = options;
  try {
    const name = assertModelName(options.modelName);
    let signature: OnnxSignature | null = null;
    if (input.format === "onnx") {
      try {
        signature = await readOnnxSignature(file.path);
      } catch (error) {
        if (error instanceof OnnxParseError) {
          throw new BerthError("unprocessable", `The file is not a valid ONNX model (${error.message}); upload it with another format or fix the file`);
        }
        throw error;
      }
    }
    return await getDb().$transaction(async (tx) => {
      const modelId = await findModelForUpdate(tx, name);
      const last = await tx.modelVersion.findFirst({ where: { modelId }, orderBy: { number: "desc" }, select: { number: true } });
      const number = (last?.number ?? 0) + 1;
      const label = input.version ?? String(number);
      // An all-digit label that is not this version's number would read as another version.
      if (/^\d+$/.test(label) && Number(label) !== number) {
        throw new BerthError("validation_failed", `Version "${label}" looks like a version number, but this upload is version ${number}; leave --version out or use a label with a letter`);
      }
      await assertLabelFree(tx, modelId, name, label);
      await lockBlob(tx, file.sha256);
      const existing = await tx.blob.findUnique({ where: { sha256: file.sha256 } });
      if (!existing) await tx.blob.create({ data: { sha256: file.sha256, sizeBytes: BigInt(file.size) } });
      const { deduplicated } = await placeBlob({ blobDir: options.blobDir, file: file.path, sha256: file.sha256 });
      const version = await tx.modelVersion.create({
        data: {
          modelId,
          number,
          label,
          format: toDbFormat(input.format),
          sha256: file.sha256,
          sizeBytes: BigInt(file.size),
          fileName: input.fileName ?? null,
          metadata: (input.metadata ?? {}) as Prisma.InputJsonObject,
          signature: (signature ?? undefined) as Prisma.InputJsonObject | undefined,
          uploadedById: actor.userId ?? actor.id,
          uploadedBy: actor.label,
        },
      });
      await recordAuditEvent(tx, {
        actor: auditActor(actor),
        request: options.request,
        action: "version.upload",
        target: { kind: "model_version", id: version.id, label: `${name}@${label}` },
        details: { sha256: file.sha256, sizeBytes: file.size, format: input.format, deduplicated: deduplicated || !!existing, fileName: input.fileName ?? null },
      });
      return versionView(version, name);
    });
  } finally {
    // Placed or refused, the incoming copy is gone after this (rm of a moved file is a no-op).
    await rm(file.path, { force: true });
  }
}

/** Read on every deployment create (and update), through plain SQL (lib/db/sql.ts); whether the model exists comes in the same statement (no version: a row of nulls). */
export async function findVersion(modelName: string, label: string): Promise<{ name: string; version: ModelVersion }> {
  const name = assertModelName(modelName);
  if (!ZVersionLabel.safeParse(label).success) throw notFoundVersion(name, label);
  const [row] = await pooledSql().query<Omit<ModelVersion, "sizeBytes"> & { sizeBytes: string | null }>(
    `SELECT v.id, v.model_id AS "modelId", v.number, v.label, v.format, v.sha256, v.size_bytes::text AS "sizeBytes", v.file_name AS "fileName",
            v.metadata, v.signature, v.stage, v.uploaded_by_id AS "uploadedById", v.uploaded_by AS "uploadedBy", v.created_at AS "createdAt"
       FROM models m LEFT JOIN model_versions v ON v.model_id = m.id AND v.label = $2
      WHERE m.name = $1`,
    [name, label],
  );
  if (!row) throw notFoundModel(name);
  if (row.id === null) throw notFoundVersion(name, label);
  return { name, version: { ...row, sizeBytes: BigInt(row.sizeBytes!) } };
}

export async function listVersions(modelName: string): Promise<VersionView[]> {
  const name = assertModelName(modelName);
  const model = await getDb().model.findUnique({ where: { name }, include: { versions: { orderBy: { number: "desc" } } } });
  if (!model) throw notFoundModel(name);
  return model.versions.map((v) => versionView(v, name));
}

export async function getVersion(modelName: string, label: string): Promise<VersionView> {
  const { name, version } = await findVersion(modelName, label);
  return versionView(version, name);
}

export async function updateVersion(options: { actor: Actor; request: RequestContext; modelName: string; label: string; input: TUpdateVersion }): Promise<VersionView> {
  const { name, version } = await findVersion(options.modelName, options.label);
  return getDb().$transaction(async (tx) => {
    const updated = await tx.modelVersion.update({
      where: { id: version.id },
      data: {
        ...(options.input.stage ? { stage: toDbStage(options.input.stage) } : {}),
        ...(options.input.metadata ? { metadata: options.input.metadata as Prisma.InputJsonObject } : {}),
      },
    });
    const target = { kind: "model_version", id: version.id, label: `${name}@${version.label}` };
    if (options.input.stage && updated.stage !== version.stage) {
      await recordAuditEvent(tx, {
        actor: auditActor(options.actor),
        request: options.request,
        action: "version.stage",
        target,
        details: { from: fromDbStage(version.stage), to: fromDbStage(updated.stage) },
      });
    }
    if (options.input.metadata) {
      await recordAuditEvent(tx, { actor: auditActor(options.actor), request: options.request, action: "version.update", target, details: { metadataKeys: Object.keys(options.input.metadata) } });
    }
    return versionView(updated, name);
  });
}

/**
 * Deletes a version no deployment uses (as its current or roll-back version,
 * or in a replica still stopping); the stored file goes when no other version shares it.
 */
export async function deleteVersion(options: { actor: Actor; request: RequestContext; modelName: string; label: string; blobDir: string }): Promise<void> {
  const { name, version } = await findVersion(options.modelName, options.label);
  await getDb().$transaction(async (tx) => {
    const users = await tx.deployment.findMany({
      where: { OR: [{ modelVersionId: version.id }, { previousModelVersionId: version.id }, { replicaRows: { some: { modelVersionId: version.id } } }] },
      select: { name: true },
    });
    if (users.length > 0) {
      throw new BerthError("conflict", `${name}@${version.label} is used by deployment ${users.map((d) => `"${d.name}"`).join(", ")} (as its running or roll-back version); update or delete those first`);
    }
    await lockBlob(tx, version.sha256);
    await tx.modelVersion.delete({ where: { id: version.id } });
    const stillUsed = await tx.modelVersion.count({ where: { sha256: version.sha256 } });
    if (stillUsed === 0) await tx.blob.delete({ where: { sha256: version.sha256 } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "version.delete",
      target: { kind: "model_version", id: version.id, label: `${name}@${version.label}` },
      details: { sha256: version.sha256, sizeBytes: Number(version.sizeBytes), blobRemoved: stillUsed === 0 },
    });
    // Under the blob lock, so a concurrent upload of the same bytes waits and then stores them anew.
    if (stillUsed === 0) await removeBlob({ blobDir: options.blobDir, sha256: version.sha256 });
  });
}

/** Resolves a download and records it: artifact reads are audited. */
export async function openArtifact(options: { actor: Actor; request: RequestContext; modelName: string; label: string; blobDir: string; range: string | null }) {
  const { name, version } = await findVersion(options.modelName, options.label);
  await getDb().$transaction((tx) =>
    recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "artifact.download",
      target: { kind: "model_version", id: version.id, label: `${name}@${version.label}` },
      details: { sha256: version.sha256, sizeBytes: Number(version.sizeBytes), range: options.range },
    }),
  );
  return {
    path: blobPath(options.blobDir, version.sha256),
    size: Number(version.sizeBytes),
    sha256: version.sha256,
    fileName: version.fileName ?? `${name}-${version.label}.${fromDbFormat(version.format) === "onnx" ? "onnx" : "bin"}`,
  };
}

/** Every model with its versions, newest first: what a deployment can be made of. */
export async function versionChoices(): Promise<{ model: string; versions: { label: string; format: Format; stage: Stage; createdAt: string }[] }[]> {
  const models = await getDb().model.findMany({
    orderBy: { name: "asc" },
    include: { versions: { orderBy: { number: "desc" }, take: 100, select: { label: true, format: true, stage: true, createdAt: true } } },
  });
  return models
    .filter((m) => m.versions.length > 0)
    .map((m) => ({ model: m.name, versions: m.versions.map((v) => ({ label: v.label, format: fromDbFormat(v.format), stage: fromDbStage(v.stage), createdAt: v.createdAt.toISOString() })) }));
}
