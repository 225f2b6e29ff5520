import type { ApiSpec } from "@/lib/http/api";
import * as health from "../health/schemas";
import * as setup from "../setup/schemas";
import * as audit from "./audit/events/schemas";
import * as auditVerification from "./audit/verification/schemas";
import * as auditPurge from "./audit/purge/schemas";
import * as me from "./me/schemas";
import * as models from "./models/schemas";
import * as model from "./models/[name]/schemas";
import * as versions from "./models/[name]/versions/schemas";
import * as version from "./models/[name]/versions/[version]/schemas";
import * as uploads from "./uploads/schemas";
import * as agent from "./agent/schemas";
import * as servers from "./servers/schemas";
import * as openapi from "./openapi.json/schemas";
import * as tokens from "./tokens/schemas";
import * as deployments from "./deployments/schemas";
import * as runtimes from "./runtimes/schemas";
import * as webhooks from "./webhooks/schemas";
import * as metrics from "../metrics/schemas";
import * as deploymentMetrics from "./deployments/[name]/metrics/schemas";
import * as inferenceLog from "./inference-log/schemas";
import * as inferenceLogExport from "./inference-log/export.csv/schemas";
import { GATEWAY_SPECS } from "./infer/schemas";

/**
 * Every API operation, gathered from the schemas.ts beside each route.
 * A test compares this list with the route files on disk.
 */
function specsOf(module: Record<string, unknown>): ApiSpec[] {
  return Object.values(module).filter(
    (value): value is ApiSpec => typeof value === "object" && value !== null && "method" in value && "path" in value && "response" in value,
  );
}

export const API_SPECS: readonly ApiSpec[] = [
  ...[health, setup, me, tokens, models, model, versions, version, uploads, servers, agent, deployments, runtimes, webhooks, audit, auditVerification, auditPurge, openapi].flatMap(specsOf),
  ...[metrics, deploymentMetrics, inferenceLog, inferenceLogExport].flatMap(specsOf),
  ...GATEWAY_SPECS,
];
