import { handle } from "@/lib/http/api";
import { deleteRuntime, getRuntime, updateRuntime } from "@/lib/deployments/runtimes";
import { deleteRuntimeApi, getRuntimeApi, updateRuntimeApi } from "../schemas";

export const GET = handle(getRuntimeApi, async ({ params }) => ({ runtime: await getRuntime(params.name) }));

export const PATCH = handle(updateRuntimeApi, async ({ actor, request, params, body }) => ({ runtime: await updateRuntime({ actor, request, name: params.name, input: body }) }));

export const DELETE = handle(deleteRuntimeApi, async ({ actor, request, params }) => {
  await deleteRuntime({ actor, request, name: params.name });
  return { deleted: true };
});
