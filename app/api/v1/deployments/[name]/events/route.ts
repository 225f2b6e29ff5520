import { handle } from "@/lib/http/api";
import { listDeploymentEvents } from "@/lib/deployments/deployments";
import { deploymentEventsApi } from "../../schemas";

export const GET = handle(deploymentEventsApi, async ({ params }) => ({ events: await listDeploymentEvents(params.name) }));
