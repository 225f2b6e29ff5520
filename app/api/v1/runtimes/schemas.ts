import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZCreateRuntime, ZUpdateRuntime } from "@/lib/deployments/schemas";

export const ZRuntime = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  image: z.string(),
  builtin: z.boolean(),
  containerPort: z.number().int(),
  readinessPath: z.string(),
  protocol: z.enum(["open_inference_v2", "openai", "custom"]),
  modelMountPath: z.string(),
  supportedFormats: z.array(z.string()),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  registryUsername: z.string().nullable(),
  hasRegistryPassword: z.boolean().describe("The password itself is stored encrypted and never returned"),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const listRuntimesApi = defineApi({ method: "get", path: "/api/v1/runtimes", tag: "Runtimes", summary: "The runtime catalogue: inference servers a deployment can run in", permission: "read", response: z.object({ runtimes: z.array(ZRuntime) }) });

export const createRuntimeApi = defineApi({
  method: "post",
  path: "/api/v1/runtimes",
  tag: "Runtimes",
  summary: "Register a runtime image (for example Triton or vLLM from a private registry); registry passwords are stored encrypted",
  permission: "fleet.write",
  action: "runtime.create",
  body: ZCreateRuntime,
  status: 201,
  response: z.object({ runtime: ZRuntime }),
});

export const getRuntimeApi = defineApi({ method: "get", path: "/api/v1/runtimes/{name}", tag: "Runtimes", summary: "One runtime", permission: "read", params: ZNameParams, response: z.object({ runtime: ZRuntime }) });

export const updateRuntimeApi = defineApi({
  method: "patch",
  path: "/api/v1/runtimes/{name}",
  tag: "Runtimes",
  summary: "Change a runtime; running deployments keep the spec they started with until their next update",
  permission: "fleet.write",
  action: "runtime.update",
  params: ZNameParams,
  body: ZUpdateRuntime,
  response: z.object({ runtime: ZRuntime }),
});

export const deleteRuntimeApi = defineApi({
  method: "delete",
  path: "/api/v1/runtimes/{name}",
  tag: "Runtimes",
  summary: "Delete a runtime no deployment uses",
  permission: "fleet.write",
  action: "runtime.delete",
  params: ZNameParams,
  response: z.object({ deleted: z.literal(true) }),
});
