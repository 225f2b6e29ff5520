import { handle } from "@/lib/http/api";
import { deleteModel, getModel, updateModel } from "@/lib/registry/models";
import { deleteModelApi, getModelApi, updateModelApi } from "./schemas";

export const GET = handle(getModelApi, async ({ params }) => ({ model: await getModel(params.name) }));

export const PATCH = handle(updateModelApi, async ({ actor, request, params, body }) => ({
  model: await updateModel({ actor, request, name: params.name, input: body }),
}));

export const DELETE = handle(deleteModelApi, async ({ actor, request, params }) => {
  await deleteModel({ actor, request, name: params.name });
  return { deleted: true };
});
