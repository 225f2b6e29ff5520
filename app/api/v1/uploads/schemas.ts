import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZVersion } from "../models/schemas";

// The tus 1.0 resumable upload protocol (https://tus.io/protocols/resumable-upload),
// served by @tus/server from server/uploads.ts. Listed here so the OpenAPI document is complete.
const tusDescription =
  "tus 1.0 resumable upload. `Upload-Metadata` carries (base64, per tus): `model`, `format`, optional `version`, `sha256`, `filename`, and `metadata` (a JSON object). " +
  "The version is registered when the last byte arrives; that final PATCH answers 200 with `{ version }`. Unfinished uploads expire after BERTH_UPLOAD_EXPIRY_HOURS.";
const ZUploadParams = z.object({ id: z.string().max(200) }).strict();

export const createUploadApi = defineApi({
  method: "post",
  path: "/api/v1/uploads",
  tag: "Uploads",
  summary: "Start a resumable upload of a new model version (tus creation)",
  description: tusDescription,
  permission: "registry.write",
  action: "version.upload",
  status: 201,
  response: z.unknown().describe("Empty; the upload's URL is in the Location header"),
});

export const headUploadApi = defineApi({
  method: "head",
  path: "/api/v1/uploads/{id}",
  tag: "Uploads",
  summary: "How many bytes of the upload have arrived (Upload-Offset), to resume from there",
  permission: "registry.write",
  params: ZUploadParams,
  response: z.unknown(),
});

export const patchUploadApi = defineApi({
  method: "patch",
  path: "/api/v1/uploads/{id}",
  tag: "Uploads",
  summary: "Send the next bytes (Content-Type: application/offset+octet-stream) from Upload-Offset",
  description: tusDescription,
  permission: "registry.write",
  action: "version.upload",
  params: ZUploadParams,
  rawBody: { contentType: "application/offset+octet-stream", description: "The next bytes of the file" },
  extraResponses: { 204: "Bytes stored; more to come", 409: "Upload-Offset does not match", 422: "Digest mismatch or invalid file", 507: "Out of space" },
  response: z.object({ version: ZVersion }).describe("Only on the final PATCH"),
});

export const deleteUploadApi = defineApi({
  method: "delete",
  path: "/api/v1/uploads/{id}",
  tag: "Uploads",
  summary: "Abandon an unfinished upload and delete its bytes",
  permission: "registry.write",
  action: "version.upload_cancel",
  params: ZUploadParams,
  status: 204,
  response: z.unknown(),
});
