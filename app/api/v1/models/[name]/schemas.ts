import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZUpdateModel } from "@/lib/registry/schemas";
import { ZModel } from "../schemas";

const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const getModelApi = defineApi({
  method: "get",
  path: "/api/v1/models/{name}",
  tag: "Models",
  summary: "One model",
  permission: "read",
  params: ZNameParams,
  response: z.object({ model: ZModel }),
});

export const updateModelApi = defineApi({
  method: "patch",
  path: "/api/v1/models/{name}",
  tag: "Models",
  summary: "Change a model's display name, description, task, tags or owner",
  permission: "registry.write",
  action: "model.update",
  params: ZNameParams,
  body: ZUpdateModel,
  response: z.object({ model: ZModel }),
});

export const deleteModelApi = defineApi({
  method: "delete",
  path: "/api/v1/models/{name}",
  tag: "Models",
  summary: "Delete a model that has no versions",
  permission: "registry.write",
  action: "model.delete",
  params: ZNameParams,
  response: z.object({ deleted: z.literal(true) }),
});
