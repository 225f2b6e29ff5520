import { handleNode } from "@/lib/http/node-api";
import { createDeployment } from "@/lib/deployments/deployments";
import { createDeploymentApi } from "@/app/api/v1/deployments/schemas";

/**
 * Creating a deployment starts the path that ends with its first inference
 * (bench/deploy), so it is answered here, ahead of Next's route handling
 * (about 1 ms at p50 and 6-7 ms at p99 per request, DESIGN.md), as the agent
 * channel is. Listing and changing deployments stay Next route handlers.
 */
export const createDeploymentRoute = handleNode(createDeploymentApi, async ({ actor, request, body }) => ({ deployment: await createDeployment({ actor, request, input: body }) }));
