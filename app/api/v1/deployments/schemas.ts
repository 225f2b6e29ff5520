import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZCreateDeployment, ZDeploymentAction, ZUpdateDeployment } from "@/lib/deployments/schemas";

const ZTensor = z.object({ name: z.string(), type: z.string(), shape: z.array(z.union([z.number(), z.string(), z.null()])).nullable() });

export const ZReplica = z.object({
  id: z.uuid(),
  slot: z.number().int(),
  server: z.string(),
  version: z.string(),
  desired: z.boolean().describe("False while the replica is being stopped (replaced, scaled down, deployment stopped)"),
  current: z.boolean().describe("Runs the deployment's current spec"),
  phase: z.enum(["pending", "downloading", "starting", "ready", "unhealthy", "failed", "stopping", "stopped"]),
  containerId: z.string().nullable(),
  hostPort: z.number().int().nullable(),
  endpoint: z.string().nullable(),
  restartCount: z.number().int(),
  message: z.string().nullable(),
  generation: z.number().int(),
  observedGeneration: z.number().int().nullable(),
  progress: z.object({ doneBytes: z.number(), totalBytes: z.number() }).nullable(),
  readyAt: z.iso.datetime().nullable(),
  updatedAt: z.iso.datetime(),
});

export const ZDeployment = z.object({
  id: z.uuid(),
  name: z.string(),
  status: z.enum(["running", "progressing", "degraded", "failed", "stopped", "stopping", "deleting"]),
  desiredState: z.enum(["running", "stopped", "deleting"]),
  model: z.object({
    name: z.string(),
    version: z.string(),
    versionId: z.uuid(),
    format: z.string(),
    sha256: z.string(),
    signature: z.object({ inputs: z.array(ZTensor), outputs: z.array(ZTensor) }).passthrough().nullable(),
  }),
  previousVersion: z.string().nullable().describe("What `rollback` returns to"),
  runtime: z.object({ name: z.string(), protocol: z.string(), image: z.string() }),
  replicas: z.number().int(),
  readyReplicas: z.number().int(),
  placement: z.union([z.object({ servers: z.array(z.string()) }), z.object({ selector: z.record(z.string(), z.string()) })]),
  cpus: z.number().nullable(),
  memoryBytes: z.number().nullable(),
  gpus: z.number().int(),
  env: z.record(z.string(), z.string()),
  generation: z.number().int(),
  createdBy: z.string(),
  updatedBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  replicaStatuses: z.array(ZReplica),
});

export const ZLedgerEntry = z.object({
  id: z.string(),
  deployment: z.string(),
  deploymentId: z.string(),
  replicaId: z.string(),
  server: z.string(),
  model: z.string(),
  version: z.string(),
  modelVersionId: z.string(),
  sha256: z.string(),
  containerId: z.string(),
  startedAt: z.iso.datetime(),
  startedBy: z.string(),
  stoppedAt: z.iso.datetime().nullable(),
  stoppedBy: z.string().nullable(),
  stopReason: z.string().nullable(),
});

export const ZLedgerQuery = z
  .object({
    at: z.iso.datetime({ offset: true, message: "Give `at` as an ISO 8601 time, e.g. 2026-11-25T14:00:00Z" }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    format: z.enum(["json", "csv"]).default("json"),
  })
  .strict();

const ZNameParams = z.object({ name: z.string().max(200) }).strict();

export const listDeploymentsApi = defineApi({ method: "get", path: "/api/v1/deployments", tag: "Deployments", summary: "Deployments with their replicas' live state", permission: "read", response: z.object({ deployments: z.array(ZDeployment) }) });

export const createDeploymentApi = defineApi({
  method: "post",
  path: "/api/v1/deployments",
  tag: "Deployments",
  summary: "Deploy a model version to servers (by name or label selector); refuses unfit servers with the reason",
  permission: "deployments.write",
  action: "deployment.create",
  body: ZCreateDeployment,
  status: 201,
  response: z.object({ deployment: ZDeployment }),
});

export const getDeploymentApi = defineApi({ method: "get", path: "/api/v1/deployments/{name}", tag: "Deployments", summary: "One deployment with its replicas", permission: "read", params: ZNameParams, response: z.object({ deployment: ZDeployment }) });

export const updateDeploymentApi = defineApi({
  method: "patch",
  path: "/api/v1/deployments/{name}",
  tag: "Deployments",
  summary: "Change the model version, resources or environment (a rolling update, one replica at a time) or the replica count",
  permission: "deployments.write",
  action: "deployment.update",
  params: ZNameParams,
  body: ZUpdateDeployment,
  response: z.object({ deployment: ZDeployment }),
});

export const deleteDeploymentApi = defineApi({
  method: "delete",
  path: "/api/v1/deployments/{name}",
  tag: "Deployments",
  summary: "Delete a deployment: every container stops; the deployment goes once the agents report them gone",
  permission: "deployments.write",
  action: "deployment.delete",
  params: ZNameParams,
  status: 202,
  response: z.object({ deleting: z.literal(true) }),
});

export const deploymentActionApi = defineApi({
  method: "post",
  path: "/api/v1/deployments/{name}/actions",
  tag: "Deployments",
  summary: "Stop, start, or roll back to the previous model version",
  permission: "deployments.write",
  action: "deployment.action",
  params: ZNameParams,
  body: ZDeploymentAction,
  response: z.object({ deployment: ZDeployment }),
});

export const deploymentEventsApi = defineApi({
  method: "get",
  path: "/api/v1/deployments/{name}/events",
  tag: "Deployments",
  summary: "The deployment's timeline, newest first",
  permission: "read",
  params: ZNameParams,
  response: z.object({ events: z.array(z.object({ id: z.string(), at: z.iso.datetime(), kind: z.string(), message: z.string(), replicaId: z.string().nullable(), server: z.string().nullable() })) }),
});

export const deploymentLogsApi = defineApi({
  method: "get",
  path: "/api/v1/deployments/{name}/logs",
  tag: "Deployments",
  summary: "The last log lines of each replica's container, as its agent last sent them",
  permission: "read",
  params: ZNameParams,
  response: z.object({ replicas: z.array(z.object({ replicaId: z.string(), slot: z.number().int(), server: z.string(), phase: z.string(), lines: z.array(z.string()), updatedAt: z.iso.datetime() })) }),
});

export const deploymentLedgerApi = defineApi({
  method: "get",
  path: "/api/v1/deployments/{name}/ledger",
  tag: "Deployments",
  summary: "Which artifact ran where, in which container, from when to when, started and stopped by whom; `at` answers for a past moment; `format=csv` exports",
  permission: "read",
  params: ZNameParams,
  query: ZLedgerQuery,
  response: z.object({ entries: z.array(ZLedgerEntry) }),
});
