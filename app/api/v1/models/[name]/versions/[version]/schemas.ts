import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZUpdateVersion } from "@/lib/registry/schemas";
import { ZVersion } from "../../../schemas";
import { ZLedgerEntry, ZLedgerQuery } from "@/app/api/v1/deployments/schemas";

const ZVersionParams = z.object({ name: z.string().max(200), version: z.string().max(200) }).strict();

export const getVersionApi = defineApi({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}",
  tag: "Models",
  summary: "One version: digest, size, format, stage, metadata and (ONNX) inputs and outputs",
  permission: "read",
  params: ZVersionParams,
  response: z.object({ version: ZVersion }),
});

export const updateVersionApi = defineApi({
  method: "patch",
  path: "/api/v1/models/{name}/versions/{version}",
  tag: "Models",
  summary: "Change a version's stage (none, staging, production, archived) or metadata",
  permission: "registry.write",
  action: "version.stage",
  params: ZVersionParams,
  body: ZUpdateVersion,
  response: z.object({ version: ZVersion }),
});

export const deleteVersionApi = defineApi({
  method: "delete",
  path: "/api/v1/models/{name}/versions/{version}",
  tag: "Models",
  summary: "Delete a version; its file goes when no other version has the same content",
  permission: "registry.write",
  action: "version.delete",
  params: ZVersionParams,
  response: z.object({ deleted: z.literal(true) }),
});

/** Served by server/routes.ts: streamed, with Range support. */
export const downloadArtifactApi = defineApi({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}/artifact",
  tag: "Models",
  summary: "Download a version's artifact; supports `Range: bytes=` for resuming. Every download is audited.",
  permission: "read",
  action: "artifact.download",
  params: ZVersionParams,
  rawResponse: { contentType: "application/octet-stream", description: "The artifact, or the requested range of it (206)" },
  extraResponses: { 206: "Partial content for a Range request", 416: "The range lies outside the artifact" },
  response: z.unknown(),
});

export const headArtifactApi = defineApi({ ...downloadArtifactApi, method: "head", summary: "Size, digest (`Digest` and `ETag`) and range support of an artifact, without its bytes" });

export const versionLedgerApi = defineApi({
  method: "get",
  path: "/api/v1/models/{name}/versions/{version}/ledger",
  tag: "Models",
  summary: "Where and when this version ran: every container, server and deployment, with who started and stopped it; `at` answers for a past moment",
  permission: "read",
  params: ZVersionParams,
  query: ZLedgerQuery,
  response: z.object({ entries: z.array(ZLedgerEntry) }),
});
