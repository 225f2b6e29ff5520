import { mkdirSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "@tus/server";
import type { Upload } from "@tus/utils";
import { requestContextFrom, type Actor, type RequestContext } from "@/lib/auth/actor";
import { readSettings, type BerthSettings } from "@/lib/config/settings";
import { admit, auditRefusal } from "@/lib/http/api";
import { BerthError, errorBody } from "@/lib/http/errors";
import { headersOf, sendError } from "@/lib/http/node-api";
import { validate } from "@/lib/http/parse";
import { logger } from "@/lib/observability/logger";
import { DiskFullError, HashingFileStore } from "@/lib/blobs/resumable-store";
import { syncPath } from "@/lib/blobs/blob-store";
import { ZMetadata, ZVersionUpload } from "@/lib/registry/schemas";
import { recordVersionUploadCancel, registerVersion, startVersionUpload } from "@/lib/registry/versions";
import { createUploadApi, deleteUploadApi, headUploadApi, patchUploadApi } from "@/app/api/v1/uploads/schemas";

/**
 * Resumable uploads (tus 1.0) for the browser, through @tus/server's Node
 * handler. Berth admits the caller before tus sees the request, binds each
 * upload to the user (or token) that started it, validates the metadata
 * before any byte is stored, and registers the version when the last byte
 * arrives: digest (computed while receiving), ONNX signature, content
 * address, audit event.
 */
export const UPLOADS_PATH = "/api/v1/uploads";

type Caller = { actor: Actor; request: RequestContext & { requestId: string } };
const callers = new WeakMap<IncomingMessage, Caller>();

function callerOf(req: { runtime?: { node?: { req: unknown } } }): Caller {
  const node = req.runtime?.node?.req as IncomingMessage | undefined;
  const caller = node ? callers.get(node) : undefined;
  if (!caller) throw new Error("tus request reached a hook without an admitted caller");
  return caller;
}

function ownerKey(actor: Actor): string {
  return actor.userId ?? actor.id ?? "system";
}

/** tus hooks report errors as `{ status_code, body }`; Berth's body is its usual JSON error. */
function tusError(error: BerthError) {
  return { status_code: error.status, body: JSON.stringify(errorBody(error)) };
}

function uploadFields(metadata: Upload["metadata"]) {
  const raw = metadata ?? {};
  const input = validate(
    ZVersionUpload,
    {
      format: raw.format ?? undefined,
      ...(raw.version ? { version: raw.version } : {}),
      ...(raw.sha256 ? { sha256: raw.sha256 } : {}),
      ...(raw.filename ? { fileName: raw.filename } : {}),
    },
    "upload metadata",
  );
  let extra: Record<string, unknown> = {};
  if (raw.metadata) {
    try {
      extra = validate(ZMetadata, JSON.parse(raw.metadata), "upload metadata.metadata");
    } catch (error) {
      if (error instanceof BerthError) throw error;
      throw new BerthError("invalid_json", "Upload-Metadata 'metadata' must be a JSON object");
    }
  }
  const model = raw.model ?? "";
  if (!model) throw new BerthError("validation_failed", "Upload-Metadata must name the model ('model')");
  return { model, input, extra };
}

/** Audits a refused upload call as a FAILURE under its own route (create, chunk or cancel), then throws it to tus. */
async function refused(caller: Caller, spec: Parameters<typeof auditRefusal>[0]["spec"], error: unknown, path: string): Promise<never> {
  const berthError =
    error instanceof BerthError ? error : error instanceof DiskFullError ? new BerthError("insufficient_storage", "The artifact store is out of space; nothing was kept") : undefined;
  if (!berthError) {
    logger.error({ err: error, requestId: caller.request.requestId }, "resumable upload failed");
    throw tusError(new BerthError("internal", `Internal error; quote request id ${caller.request.requestId} when reporting it`));
  }
  await auditRefusal({ spec, request: caller.request, actor: caller.actor, outcome: "FAILURE", reason: berthError.code, path });
  throw tusError(berthError);
}

export function createUploadServer(settings: BerthSettings = readSettings()) {
  mkdirSync(settings.uploadDir, { recursive: true });
  const store = new HashingFileStore({ directory: settings.uploadDir, expirationPeriodInMilliseconds: settings.uploadExpiryHours * 3_600_000 });

  const options: ConstructorParameters<typeof Server>[0] = {
    path: UPLOADS_PATH,
    datastore: store,
    maxSize: settings.maxArtifactBytes,
    relativeLocation: true,
    respectForwardedHeaders: process.env.BERTH_TRUST_PROXY === "1",
    namingFunction: () => randomUUID().replaceAll("-", ""),
    async onUploadCreate(req, upload) {
      const caller = callerOf(req);
      try {
        if (!upload.size) throw new BerthError("validation_failed", "Announce the file size (Upload-Length); deferred lengths are not supported");
        const { model, input } = uploadFields(upload.metadata);
        await startVersionUpload({ actor: caller.actor, request: caller.request, modelName: model, input, uploadId: upload.id, sizeBytes: upload.size });
      } catch (error) {
        return refused(caller, createUploadApi, error, UPLOADS_PATH);
      }
      // Whoever started the upload owns it; any client-sent owner is overwritten.
      return { metadata: { ...upload.metadata, owner: ownerKey(caller.actor) } };
    },
    async onIncomingRequest(req, id) {
      if (req.method === "POST" || req.method === "OPTIONS") return;
      const caller = callerOf(req);
      const upload = await store.getUpload(id).catch(() => null);
      // Someone else's upload is indistinguishable from a missing one.
      if (upload && upload.metadata?.owner !== ownerKey(caller.actor)) {
        const notFound = new BerthError("not_found", "No such upload");
        if (req.method === "HEAD" || req.method === "GET") throw tusError(notFound);
        return refused(caller, req.method === "DELETE" ? deleteUploadApi : patchUploadApi, notFound, `${UPLOADS_PATH}/${id}`);
      }
      // A cancel is recorded before tus removes the bytes, so a failed audit write keeps them.
      if (req.method === "DELETE" && upload) {
        await recordVersionUploadCancel({ actor: caller.actor, request: caller.request, modelName: upload.metadata?.model ?? "", uploadId: id, sizeBytes: upload.size ?? null, receivedBytes: upload.offset });
      }
    },
    async onUploadFinish(req, upload) {
      const caller = callerOf(req);
      try {
        const { model, input, extra } = uploadFields(upload.metadata);
        const sha256 = await store.digestOf(upload.id, upload.size!);
        await syncPath(store.filePath(upload.id));
        if (input.sha256 && input.sha256 !== sha256) {
          throw new BerthError("unprocessable", `SHA-256 mismatch: expected ${input.sha256}, received ${sha256}; nothing was kept`, { expected: input.sha256, actual: sha256 });
        }
        const version = await registerVersion({
          actor: caller.actor,
          request: caller.request,
          modelName: model,
          input: { ...input, metadata: extra },
          file: { path: store.filePath(upload.id), sha256, size: upload.size! },
          blobDir: settings.blobDir,
        });
        await store.forgetFinished(upload.id);
        return { status_code: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ version }) };
      } catch (error) {
        await store.remove(upload.id).catch(() => {});
        return refused(caller, patchUploadApi, error, `${UPLOADS_PATH}/${upload.id}`);
      }
    },
    async onResponseError(req, error) {
      if (error instanceof DiskFullError) {
        // Nothing half-written stays behind: the partial upload goes too.
        const id = new URL(req.url).pathname.split("/").pop();
        if (id) await store.remove(id).catch(() => {});
        return tusError(new BerthError("insufficient_storage", "The artifact store is out of space; nothing was kept"));
      }
      return undefined;
    },
  };
  const tus = new Server(options);

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const context = requestContextFrom(headersOf(req));
    const request = { ...context, requestId: context.requestId ?? randomUUID() };
    const path = (req.url ?? "").split("?")[0]!;
    const spec =
      req.method === "POST" ? createUploadApi : req.method === "HEAD" ? headUploadApi : req.method === "DELETE" ? deleteUploadApi : patchUploadApi;
    try {
      if (req.method !== "OPTIONS") {
        const admitted = await admit({ spec, headers: { authorization: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null }, request, path });
        if (admitted.error) return sendError(res, admitted.error);
        callers.set(req, { actor: admitted.actor!, request });
      }
      await tus.handle(req, res);
    } catch (error) {
      logger.error({ err: error, requestId: request.requestId }, "resumable upload handler failed");
      sendError(res, new BerthError("internal", `Internal error; quote request id ${request.requestId} when reporting it`));
    }
  };

  return {
    handler,
    /** Deletes unfinished uploads older than BERTH_UPLOAD_EXPIRY_HOURS. */
    cleanUpExpired: () => tus.cleanUpExpiredUploads(),
  };
}
