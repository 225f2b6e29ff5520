import { handle } from "@/lib/http/api";
import { deploymentAction } from "@/lib/deployments/deployments";
import { deploymentActionApi } from "../../schemas";

export const POST = handle(deploymentActionApi, async ({ actor, request, params, body }) => ({
  deployment: await deploymentAction({ actor, request, name: params.name, action: body.action }),
}));
