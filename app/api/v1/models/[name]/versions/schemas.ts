import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZVersionUpload } from "@/lib/registry/schemas";
import { ZVersion } from "../../schemas";

const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const listVersionsApi = defineApi({
  method: "get",
  path: "/api/v1/models/{name}/versions",
  tag: "Models",
  summary: "A model's versions, newest first",
  permission: "read",
  params: ZNameParams,
  response: z.object({ versions: z.array(ZVersion) }),
});

/** Served by server/ (streams the body); resumable browser uploads use /api/v1/uploads. */
export const uploadVersionApi = defineApi({
  method: "post",
  path: "/api/v1/models/{name}/versions",
  tag: "Models",
  summary: "Upload a new version in one request: the body is the artifact, streamed and hashed as it arrives",
  description:
    "Send the file as the raw body (`Content-Type: application/octet-stream`). With `sha256`, a file whose digest differs is refused (422) and nothing is kept. " +
    "Free-form metadata goes in the `Berth-Metadata` header as a JSON object. Over BERTH_MAX_ARTIFACT_BYTES: 413. Out of disk: 507.",
  permission: "registry.write",
  action: "version.upload",
  params: ZNameParams,
  query: ZVersionUpload,
  rawBody: { contentType: "application/octet-stream", description: "The artifact's bytes" },
  status: 201,
  extraResponses: { 422: "Digest mismatch, or not a valid file of the stated format", 507: "The artifact store is out of space" },
  response: z.object({ version: ZVersion }),
});
