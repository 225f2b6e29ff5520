import { handle } from "@/lib/http/api";
import { createDeployment, listDeployments } from "@/lib/deployments/deployments";
import { createDeploymentApi, listDeploymentsApi } from "./schemas";

export const GET = handle(listDeploymentsApi, async () => ({ deployments: await listDeployments() }));

export const POST = handle(createDeploymentApi, async ({ actor, request, body }) => ({ deployment: await createDeployment({ actor, request, input: body }) }));
