import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { FORMATS, STAGES, ZCreateModel } from "@/lib/registry/schemas";

export const ZModel = z.object({
  id: z.uuid(),
  name: z.string(),
  displayName: z.string(),
  description: z.string(),
  task: z.string().nullable(),
  tags: z.array(z.string()),
  owner: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  versionCount: z.number().int(),
  latestVersion: z.string().nullable(),
});

const ZTensor = z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.number(), z.string(), z.null()])).nullable() });

export const ZVersion = z.object({
  id: z.uuid(),
  model: z.string(),
  number: z.number().int(),
  label: z.string(),
  format: z.enum(FORMATS),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  fileName: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  signature: z
    .object({ irVersion: z.number().nullable(), producer: z.string().nullable(), opsets: z.array(z.object({ domain: z.string(), version: z.number() })), inputs: z.array(ZTensor), outputs: z.array(ZTensor) })
    .nullable()
    .describe("ONNX graph inputs and outputs; null for other formats"),
  stage: z.enum(STAGES),
  uploadedBy: z.string(),
  createdAt: z.iso.datetime(),
});

export const listModelsApi = defineApi({
  method: "get",
  path: "/api/v1/models",
  tag: "Models",
  summary: "List models, by name, optionally searching name, description, task and tags",
  permission: "read",
  query: z
    .object({
      q: z.string().max(200).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      after: z.string().max(63).optional().describe("The `nextAfter` of the previous page"),
    })
    .strict(),
  response: z.object({ models: z.array(ZModel), nextAfter: z.string().nullable() }),
});

export const createModelApi = defineApi({
  method: "post",
  path: "/api/v1/models",
  tag: "Models",
  summary: "Create a model (versions are uploaded to it afterwards)",
  permission: "registry.write",
  action: "model.create",
  body: ZCreateModel,
  status: 201,
  response: z.object({ model: ZModel }),
});
