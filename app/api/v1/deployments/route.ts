import { handle } from "@/lib/http/api";
import { listDeployments } from "@/lib/deployments/deployments";
import { listDeploymentsApi } from "./schemas";

// POST (create) is served ahead of Next: server/deployment-routes.ts.
export const GET = handle(listDeploymentsApi, async () => ({ deployments: await listDeployments() }));
