import type { Deployment, DeploymentEvent, Model, ModelVersion, Prisma, Replica, Runtime } from "@prisma/client";
import { randomUUID } from "node:crypto";
import { getDb, type Tx } from "@/lib/db/client";
import { asSql, pooledSql, sqlTransaction, type Sql } from "@/lib/db/sql";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { findVersion } from "@/lib/registry/versions";
import { fromDbFormat } from "@/lib/registry/schemas";
import type { OnnxSignature } from "@/lib/registry/onnx-signature";
import { converge, lockDeployment } from "./converge";
import { replicaSpec, specHash } from "./spec";
import { addDeploymentEvent } from "./events";
import { eligibleServers, type Placement } from "./placement";
import { BUILTIN_ONNX_RUNTIME, findRuntime, RUNTIME_COLUMNS } from "./runtimes";
import { deploymentRoutesChanged } from "./route-changes";
import { ZDeploymentName, type TCreateDeployment, type TUpdateDeployment } from "./schemas";

export type DeploymentStatus = "running" | "progressing" | "degraded" | "failed" | "stopped" | "stopping" | "deleting";

export type ReplicaView = {
  id: string;
  slot: number;
  server: string;
  version: string;
  desired: boolean;
  current: boolean;
  phase: Lowercase<Replica["phase"]>;
  containerId: string | null;
  hostPort: number | null;
  endpoint: string | null;
  restartCount: number;
  message: string | null;
  generation: number;
  observedGeneration: number | null;
  progress: { doneBytes: number; totalBytes: number } | null;
  readyAt: string | null;
  updatedAt: string;
};

export type DeploymentView = {
  id: string;
  name: string;
  status: DeploymentStatus;
  desiredState: "running" | "stopped" | "deleting";
  model: { name: string; version: string; versionId: string; format: string; sha256: string; signature: OnnxSignature | null };
  previousVersion: string | null;
  runtime: { name: string; protocol: string; image: string };
  replicas: number;
  readyReplicas: number;
  placement: Placement;
  cpus: number | null;
  memoryBytes: number | null;
  gpus: number;
  env: Record<string, string>;
  generation: number;
  createdBy: string;
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
  replicaStatuses: ReplicaView[];
};

type ReplicaRow = Pick<
  Replica,
  "id" | "slot" | "desired" | "specHash" | "phase" | "containerId" | "hostPort" | "endpoint" | "restartCount" | "message" | "generation" | "observedGeneration" | "progress" | "readyAt" | "updatedAt"
> & { serverName: string; versionLabel: string };

type DeploymentRow = Pick<Deployment, "id" | "name" | "desiredState" | "replicas" | "cpus" | "gpus" | "generation" | "createdBy" | "updatedBy" | "createdAt" | "updatedAt"> & {
  placement: Placement;
  memoryBytes: number | null;
  env: Record<string, string>;
  modelVersion: Pick<ModelVersion, "id" | "label" | "format" | "sha256" | "signature"> & { sizeBytes: number; model: Pick<Model, "name"> };
  previousVersionLabel: string | null;
  runtime: Runtime;
  replicaRows: ReplicaRow[];
};

/**
 * Deployments with everything their view shows, in three statements of plain
 * SQL (lib/db/sql.ts): read after every create and change, and by every
 * `--wait` and console poll. One deployment by id, or all of them.
 */
async function readDeploymentRows(tx: Tx | Sql, id?: string): Promise<DeploymentRow[]> {
  const sql = asSql(tx);
  const deployments = await sql.query<Omit<DeploymentRow, "modelVersion" | "runtime" | "replicaRows"> & {
    runtimeId: string;
    versionId: string;
    versionLabel: string;
    format: ModelVersion["format"];
    sha256: string;
    sizeBytes: number;
    signature: ModelVersion["signature"];
    modelName: string;
  }>(
    `SELECT d.id, d.name, d.desired_state AS "desiredState", d.replicas, d.placement, d.cpus, d.memory_bytes::float8 AS "memoryBytes", d.gpus, d.env, d.generation,
            d.created_by AS "createdBy", d.updated_by AS "updatedBy", d.created_at AS "createdAt", d.updated_at AS "updatedAt", d.runtime_id AS "runtimeId",
            v.id AS "versionId", v.label AS "versionLabel", v.format, v.sha256, v.size_bytes::float8 AS "sizeBytes", v.signature, m.name AS "modelName",
            p.label AS "previousVersionLabel"
       FROM deployments d
       JOIN model_versions v ON v.id = d.model_version_id JOIN models m ON m.id = v.model_id
       LEFT JOIN model_versions p ON p.id = d.previous_model_version_id
      WHERE $1::uuid IS NULL OR d.id = $1::uuid
      ORDER BY d.name`,
    [id ?? null],
  );
  if (deployments.length === 0) return [];
  const ids = deployments.map((d) => d.id);
  const runtimes = await sql.query<Runtime>(`SELECT ${RUNTIME_COLUMNS} FROM runtimes r WHERE r.id = ANY($1::uuid[])`, [[...new Set(deployments.map((d) => d.runtimeId))]]);
  const replicas = await sql.query<ReplicaRow & { deploymentId: string }>(
    `SELECT rep.deployment_id AS "deploymentId", rep.id, rep.slot, rep.desired, rep.spec_hash AS "specHash", rep.phase, rep.container_id AS "containerId", rep.host_port AS "hostPort",
            rep.endpoint, rep.restart_count AS "restartCount", rep.message, rep.generation, rep.observed_generation AS "observedGeneration", rep.progress,
            rep.ready_at AS "readyAt", rep.updated_at AS "updatedAt", s.name AS "serverName", v.label AS "versionLabel"
       FROM replicas rep JOIN servers s ON s.id = rep.server_id JOIN model_versions v ON v.id = rep.model_version_id
      WHERE rep.deployment_id = ANY($1::uuid[])
      ORDER BY rep.slot, rep.created_at`,
    [ids],
  );
  return deployments.map(({ runtimeId, versionId, versionLabel, format, sha256, sizeBytes, signature, modelName, ...d }) => ({
    ...d,
    modelVersion: { id: versionId, label: versionLabel, format, sha256, sizeBytes, signature, model: { name: modelName } },
    runtime: runtimes.find((r) => r.id === runtimeId)!,
    replicaRows: replicas.filter((r) => r.deploymentId === d.id),
  }));
}

function deploymentStatus(row: DeploymentRow, currentHash: (r: ReplicaRow) => boolean): DeploymentStatus {
  if (row.desiredState === "DELETING") return "deleting";
  if (row.desiredState === "STOPPED") return row.replicaRows.length > 0 ? "stopping" : "stopped";
  const desired = row.replicaRows.filter((r) => r.desired);
  if (desired.some((r) => r.phase === "FAILED")) return "failed";
  const current = desired.filter(currentHash);
  const ready = current.filter((r) => r.phase === "READY").length;
  if (ready >= row.replicas && desired.length === row.replicas && row.replicaRows.length === desired.length) return "running";
  if (desired.some((r) => r.phase === "UNHEALTHY")) return "degraded";
  return "progressing";
}

export function deploymentView(row: DeploymentRow): DeploymentView {
  const hash = specHash(
    replicaSpec({
      version: row.modelVersion,
      runtime: row.runtime,
      resources: { cpus: row.cpus, memoryBytes: row.memoryBytes, gpus: row.gpus },
      env: row.env,
    }),
  );
  const isCurrent = (r: ReplicaRow) => r.specHash === hash;
  return {
    id: row.id,
    name: row.name,
    status: deploymentStatus(row, isCurrent),
    desiredState: row.desiredState.toLowerCase() as DeploymentView["desiredState"],
    model: {
      name: row.modelVersion.model.name,
      version: row.modelVersion.label,
      versionId: row.modelVersion.id,
      format: fromDbFormat(row.modelVersion.format),
      sha256: row.modelVersion.sha256,
      signature: row.modelVersion.signature as OnnxSignature | null,
    },
    previousVersion: row.previousVersionLabel,
    runtime: { name: row.runtime.name, protocol: row.runtime.protocol.toLowerCase(), image: row.runtime.image },
    replicas: row.replicas,
    readyReplicas: row.replicaRows.filter((r) => r.desired && r.phase === "READY").length,
    placement: row.placement,
    cpus: row.cpus,
    memoryBytes: row.memoryBytes,
    gpus: row.gpus,
    env: row.env,
    generation: row.generation,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    replicaStatuses: row.replicaRows.map((r) => ({
      id: r.id,
      slot: r.slot,
      server: r.serverName,
      version: r.versionLabel,
      desired: r.desired,
      current: isCurrent(r),
      phase: r.phase.toLowerCase() as ReplicaView["phase"],
      containerId: r.containerId,
      hostPort: r.hostPort,
      endpoint: r.endpoint,
      restartCount: r.restartCount,
      message: r.message,
      generation: r.generation,
      observedGeneration: r.observedGeneration,
      progress: r.progress as ReplicaView["progress"],
      readyAt: r.readyAt?.toISOString() ?? null,
      updatedAt: r.updatedAt.toISOString(),
    })),
  };
}

export function notFoundDeployment(name: string) {
  return new BerthError("not_found", `No deployment named "${name}"`);
}

async function findDeployment(tx: Tx, name: string) {
  if (!ZDeploymentName.safeParse(name).success) throw notFoundDeployment(name);
  const deployment = await tx.deployment.findUnique({ where: { name } });
  if (!deployment) throw notFoundDeployment(name);
  return deployment;
}

async function loadView(tx: Tx | Sql, id: string): Promise<DeploymentView> {
  const [row] = await readDeploymentRows(tx, id);
  if (!row) throw new BerthError("not_found", "The deployment was not found");
  return deploymentView(row);
}

async function resolveVersion(ref: { model: string; version: string }) {
  const { version } = await findVersion(ref.model, ref.version);
  return version;
}

function assertRuntimeServes(runtime: Runtime, version: ModelVersion, modelName: string) {
  if (!runtime.supportedFormats.includes(version.format)) {
    const formats = runtime.supportedFormats.map(fromDbFormat).join(", ");
    throw new BerthError("unprocessable", `Runtime "${runtime.name}" serves ${formats} models; ${modelName}@${version.label} is ${fromDbFormat(version.format)}. Pick another runtime with --runtime.`);
  }
}

export async function listDeployments(): Promise<DeploymentView[]> {
  return (await readDeploymentRows(pooledSql())).map(deploymentView);
}

export async function getDeployment(name: string): Promise<DeploymentView> {
  return loadView(pooledSql(), await deploymentIdOf(name));
}

/**
 * Creates a deployment and its first replicas in one `pg` transaction (plain
 * SQL, lib/db/sql.ts): its commit wakes the agents' long-polls, so every
 * millisecond in it is on the path from "create" to "first inference"
 * (bench/deploy). The view is read after the commit.
 */
export async function createDeployment(options: { actor: Actor; request: RequestContext; input: TCreateDeployment }): Promise<DeploymentView> {
  const { input, actor } = options;
  // Both looked up at once; when both are missing, the version's error is the one reported.
  const [versionRead, runtimeRead] = await Promise.allSettled([resolveVersion(input.model), findRuntime(input.runtime ?? BUILTIN_ONNX_RUNTIME)]);
  if (versionRead.status === "rejected") throw versionRead.reason;
  if (runtimeRead.status === "rejected") throw runtimeRead.reason;
  const [version, runtime] = [versionRead.value, runtimeRead.value];
  assertRuntimeServes(runtime, version, input.model.model);
  const placement: Placement = input.servers ? { servers: [...new Set(input.servers)] } : { selector: input.selector! };
  const replicas = input.replicas ?? ("servers" in placement ? placement.servers.length : 1);
  const resources = { cpus: input.cpus ?? null, memoryBytes: input.memory ?? null, gpus: input.gpus };
  const id = await sqlTransaction(async (sql) => {
    const id = randomUUID();
    const inserted = await sql.query<{ id: string }>(
      `INSERT INTO deployments (id, name, model_version_id, runtime_id, replicas, placement, cpus, memory_bytes, gpus, env, created_by, updated_by, updated_at)
       VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5::int, $6::jsonb, $7::float8, $8::bigint, $9::int, $10::jsonb, $11, $11, now())
       ON CONFLICT (name) DO NOTHING RETURNING id`,
      [id, input.name, version.id, runtime.id, replicas, JSON.stringify(placement), resources.cpus, resources.memoryBytes, resources.gpus, JSON.stringify(input.env), actor.label],
    );
    if (inserted.length === 0) {
      const [existing] = await sql.query<{ desiredState: string }>(`SELECT desired_state AS "desiredState" FROM deployments WHERE name = $1`, [input.name]);
      throw new BerthError("conflict", existing?.desiredState === "DELETING" ? `Deployment "${input.name}" is still being deleted (its containers are stopping); try again shortly` : `A deployment named "${input.name}" already exists`);
    }
    // Unfit servers are refused, with every reason, by converge placing the first replica (strict: it throws, and the
    // transaction rolls back, so nothing is written); a create always has one to place (ZCreateDeployment: replicas ≥ 1).
    await lockDeployment(sql, id);
    await addDeploymentEvent(sql, id, "deployment.create", `Created by ${actor.label}: ${input.model.model}@${version.label} on ${describePlacement(placement)}, ${replicas} replica${replicas === 1 ? "" : "s"}`);
    await converge(sql, id, { strict: true });
    await recordAuditEvent(sql, {
      actor: auditActor(actor),
      request: options.request,
      action: "deployment.create",
      target: { kind: "deployment", id, label: input.name },
      details: { model: `${input.model.model}@${version.label}`, sha256: version.sha256, runtime: runtime.name, replicas, placement, cpus: resources.cpus, memoryBytes: resources.memoryBytes, gpus: resources.gpus, envNames: Object.keys(input.env) },
    });
    return id;
  });
  return loadView(pooledSql(), id);
}

function describePlacement(placement: Placement) {
  return "servers" in placement ? placement.servers.join(", ") : `servers matching ${Object.entries(placement.selector).map(([k, v]) => `${k}=${v}`).join(",")}`;
}

/** Runs one change to a deployment under its lock: mutate, converge, audit, in one transaction. */
async function change(
  options: { actor: Actor; request: RequestContext; name: string; action: string },
  mutate: (tx: Tx, deployment: Deployment) => Promise<{ data: Prisma.DeploymentUpdateInput; details: Record<string, unknown>; event: string } | null>,
): Promise<DeploymentView> {
  let routesChanged = false;
  let deploymentId = "";
  const view = await getDb().$transaction(async (tx) => {
    const found = await findDeployment(tx, options.name);
    deploymentId = found.id;
    await lockDeployment(tx, found.id);
    const deployment = await tx.deployment.findUniqueOrThrow({ where: { id: found.id } });
    if (deployment.desiredState === "DELETING") throw new BerthError("conflict", `Deployment "${deployment.name}" is being deleted`);
    const planned = await mutate(tx, deployment);
    if (!planned) return loadView(tx, deployment.id);
    await tx.deployment.update({ where: { id: deployment.id }, data: { ...planned.data, updatedBy: options.actor.label } });
    await addDeploymentEvent(tx, deployment.id, options.action, `${planned.event} (by ${options.actor.label})`);
    const result = await converge(tx, deployment.id, { strict: true });
    routesChanged = result.routesChanged;
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: options.action,
      target: { kind: "deployment", id: deployment.id, label: deployment.name },
      details: planned.details,
    });
    return result.deleted ? null : loadView(tx, deployment.id);
  });
  if (routesChanged) deploymentRoutesChanged(deploymentId);
  if (!view) throw new BerthError("gone", `Deployment "${options.name}" was deleted`);
  return view;
}

export async function updateDeployment(options: { actor: Actor; request: RequestContext; name: string; input: TUpdateDeployment }): Promise<DeploymentView> {
  const { input } = options;
  const version = input.model ? await resolveVersion(input.model) : undefined;
  const action = input.model ? "deployment.update" : input.replicas !== undefined && Object.keys(input).length === 1 ? "deployment.scale" : "deployment.update";
  return change({ ...options, action }, async (tx, deployment) => {
    const data: Prisma.DeploymentUpdateInput = {};
    const details: Record<string, unknown> = {};
    const said: string[] = [];
    let respec = false;
    if (version && version.id !== deployment.modelVersionId) {
      const runtime = await tx.runtime.findUniqueOrThrow({ where: { id: deployment.runtimeId } });
      assertRuntimeServes(runtime, version, input.model!.model);
      const model = await tx.model.findUniqueOrThrow({ where: { id: version.modelId }, select: { name: true } });
      const current = await tx.modelVersion.findUniqueOrThrow({ where: { id: deployment.modelVersionId }, include: { model: { select: { name: true } } } });
      data.modelVersion = { connect: { id: version.id } };
      data.previousModelVersion = { connect: { id: deployment.modelVersionId } };
      details.model = { from: `${current.model.name}@${current.label}`, to: `${model.name}@${version.label}`, sha256: version.sha256 };
      said.push(`model ${current.model.name}@${current.label} → ${model.name}@${version.label}`);
      respec = true;
    }
    if (input.replicas !== undefined && input.replicas !== deployment.replicas) {
      data.replicas = input.replicas;
      details.replicas = { from: deployment.replicas, to: input.replicas };
      said.push(`replicas ${deployment.replicas} → ${input.replicas}`);
    }
    if (input.cpus !== undefined && input.cpus !== deployment.cpus) {
      data.cpus = input.cpus;
      details.cpus = { from: deployment.cpus, to: input.cpus };
      said.push(`cpus → ${input.cpus ?? "unlimited"}`);
      respec = true;
    }
    const memory = deployment.memoryBytes === null ? null : Number(deployment.memoryBytes);
    if (input.memory !== undefined && input.memory !== memory) {
      data.memoryBytes = input.memory === null ? null : BigInt(input.memory);
      details.memoryBytes = { from: memory, to: input.memory };
      said.push(`memory → ${input.memory ?? "unlimited"}`);
      respec = true;
    }
    if (input.env !== undefined && JSON.stringify(input.env) !== JSON.stringify(deployment.env)) {
      data.env = input.env as Prisma.InputJsonObject;
      details.envNames = Object.keys(input.env);
      said.push("environment changed");
      respec = true;
    }
    if (said.length === 0) return null;
    if (respec) data.generation = { increment: 1 };
    if (input.replicas !== undefined && input.replicas > 0 && deployment.desiredState === "RUNNING") {
      await eligibleServers(tx, deployment.placement as Placement, {
        cpus: input.cpus !== undefined ? input.cpus : deployment.cpus,
        memoryBytes: input.memory !== undefined ? input.memory : memory,
        gpus: deployment.gpus,
      });
    }
    return { data, details, event: respec ? `Rolling update: ${said.join(", ")}` : `Scaled: ${said.join(", ")}` };
  });
}

export async function deploymentAction(options: { actor: Actor; request: RequestContext; name: string; action: "stop" | "start" | "rollback" }): Promise<DeploymentView> {
  return change({ ...options, action: `deployment.${options.action}` }, async (tx, deployment) => {
    if (options.action === "stop") {
      if (deployment.desiredState === "STOPPED") return null;
      return { data: { desiredState: "STOPPED" }, details: {}, event: "Stopped" };
    }
    if (options.action === "start") {
      if (deployment.desiredState === "RUNNING") return null;
      await eligibleServers(tx, deployment.placement as Placement, { cpus: deployment.cpus, memoryBytes: deployment.memoryBytes === null ? null : Number(deployment.memoryBytes), gpus: deployment.gpus });
      return { data: { desiredState: "RUNNING", generation: { increment: 1 } }, details: {}, event: "Started" };
    }
    if (!deployment.previousModelVersionId) throw new BerthError("conflict", `Deployment "${deployment.name}" has no previous version to roll back to`);
    // One query at a time: a transaction is one connection.
    const current = await tx.modelVersion.findUniqueOrThrow({ where: { id: deployment.modelVersionId }, include: { model: { select: { name: true } } } });
    const previous = await tx.modelVersion.findUniqueOrThrow({ where: { id: deployment.previousModelVersionId }, include: { model: { select: { name: true } } } });
    return {
      data: { modelVersion: { connect: { id: previous.id } }, previousModelVersion: { connect: { id: current.id } }, generation: { increment: 1 } },
      details: { model: { from: `${current.model.name}@${current.label}`, to: `${previous.model.name}@${previous.label}` } },
      event: `Rolling back: ${current.model.name}@${current.label} → ${previous.model.name}@${previous.label}`,
    };
  });
}

/** Deletes a deployment: its containers stop, and the row goes once the agents report them gone. */
export async function deleteDeployment(options: { actor: Actor; request: RequestContext; name: string }): Promise<void> {
  try {
    await change({ ...options, action: "deployment.delete" }, async () => ({ data: { desiredState: "DELETING" }, details: {}, event: "Deleting: stopping every replica" }));
  } catch (error) {
    if (error instanceof BerthError && error.code === "gone") return;
    throw error;
  }
}

export type DeploymentEventView = { id: string; at: string; kind: string; message: string; replicaId: string | null; server: string | null };

export async function listDeploymentEvents(name: string, limit = 200): Promise<DeploymentEventView[]> {
  const deployment = await findDeployment(getDb(), name);
  const events: DeploymentEvent[] = await getDb().deploymentEvent.findMany({ where: { deploymentId: deployment.id }, orderBy: { id: "desc" }, take: limit });
  return events.map((e) => ({ id: e.id.toString(), at: e.at.toISOString(), kind: e.kind, message: e.message, replicaId: e.replicaId, server: e.serverName }));
}

/** The last log lines of each replica's container, as its agent last reported them. */
export async function deploymentLogs(name: string): Promise<{ replicaId: string; slot: number; server: string; phase: string; lines: string[]; updatedAt: string }[]> {
  const deployment = await findDeployment(getDb(), name);
  const replicas = await getDb().replica.findMany({ where: { deploymentId: deployment.id }, include: { server: { select: { name: true } } }, orderBy: [{ slot: "asc" }, { createdAt: "asc" }] });
  return replicas.map((r) => ({ replicaId: r.id, slot: r.slot, server: r.server.name, phase: r.phase.toLowerCase(), lines: r.logTail, updatedAt: r.updatedAt.toISOString() }));
}

export async function deploymentIdOf(name: string): Promise<string> {
  if (!ZDeploymentName.safeParse(name).success) throw notFoundDeployment(name);
  const [row] = await pooledSql().query<{ id: string }>("SELECT id FROM deployments WHERE name = $1", [name]);
  if (!row) throw notFoundDeployment(name);
  return row.id;
}

export type Placed = { deployment: string; server: string; phase: string };

/** Where each of these versions runs now: desired replicas, by version id. */
export async function placementsOfVersions(versionIds: string[]): Promise<Map<string, Placed[]>> {
  const replicas = await getDb().replica.findMany({
    where: { modelVersionId: { in: versionIds }, desired: true },
    select: { modelVersionId: true, phase: true, deployment: { select: { name: true } }, server: { select: { name: true } } },
    orderBy: [{ deployment: { name: "asc" } }, { slot: "asc" }],
  });
  const byVersion = new Map<string, Placed[]>();
  for (const r of replicas) byVersion.set(r.modelVersionId, [...(byVersion.get(r.modelVersionId) ?? []), { deployment: r.deployment.name, server: r.server.name, phase: r.phase.toLowerCase() }]);
  return byVersion;
}
