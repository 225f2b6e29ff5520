import { handle } from "@/lib/http/api";
import { deploymentLogs } from "@/lib/deployments/deployments";
import { deploymentLogsApi } from "../../schemas";

export const GET = handle(deploymentLogsApi, async ({ params }) => ({ replicas: await deploymentLogs(params.name) }));
