import { handle } from "@/lib/http/api";
import { deleteDeployment, getDeployment, updateDeployment } from "@/lib/deployments/deployments";
import { deleteDeploymentApi, getDeploymentApi, updateDeploymentApi } from "../schemas";

export const GET = handle(getDeploymentApi, async ({ params }) => ({ deployment: await getDeployment(params.name) }));

export const PATCH = handle(updateDeploymentApi, async ({ actor, request, params, body }) => ({ deployment: await updateDeployment({ actor, request, name: params.name, input: body }) }));

export const DELETE = handle(deleteDeploymentApi, async ({ actor, request, params }) => {
  await deleteDeployment({ actor, request, name: params.name });
  return { deleting: true };
});
