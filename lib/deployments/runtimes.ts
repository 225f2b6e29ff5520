import type { Prisma, Runtime } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { pooledSql } from "@/lib/db/sql";
import { BerthError, fromPrismaError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { seal, unseal } from "@/lib/auth/sealing";
import { fromDbFormat, toDbFormat, type Format } from "@/lib/registry/schemas";
import type { RuntimeSpec } from "@/lib/protocol/agent";
import { forgetCachedWorkloads } from "./desired-state";
import { ZRuntimeName, type TCreateRuntime, type TUpdateRuntime } from "./schemas";

export const BUILTIN_ONNX_RUNTIME = "onnx";

export type RuntimeView = {
  id: string;
  name: string;
  description: string;
  image: string;
  builtin: boolean;
  containerPort: number;
  readinessPath: string;
  protocol: "open_inference_v2" | "openai" | "custom";
  modelMountPath: string;
  supportedFormats: Format[];
  args: string[];
  env: Record<string, string>;
  registryUsername: string | null;
  /** Whether a registry password is stored; the password itself never leaves the server except to agents. */
  hasRegistryPassword: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
};

export function runtimeView(runtime: Runtime): RuntimeView {
  return {
    id: runtime.id,
    name: runtime.name,
    description: runtime.description,
    image: runtime.image,
    builtin: runtime.source === "BUILTIN",
    containerPort: runtime.containerPort,
    readinessPath: runtime.readinessPath,
    protocol: runtime.protocol.toLowerCase() as RuntimeView["protocol"],
    modelMountPath: runtime.modelMountPath,
    supportedFormats: runtime.supportedFormats.map(fromDbFormat),
    args: runtime.args,
    env: runtime.env as Record<string, string>,
    registryUsername: runtime.registryUsername,
    hasRegistryPassword: runtime.registryPasswordSealed !== null,
    createdBy: runtime.createdBy,
    createdAt: runtime.createdAt.toISOString(),
    updatedAt: runtime.updatedAt.toISOString(),
  };
}

/** The columns of a runtime that shape its containers. */
export type RuntimeContainerColumns = Pick<Runtime, "name" | "image" | "source" | "containerPort" | "readinessPath" | "protocol" | "modelMountPath" | "args" | "env">;

/** How a container of this runtime is made: frozen into each replica's spec (spec.ts) and sent to agents. */
export function runtimeContainer(runtime: RuntimeContainerColumns): Omit<RuntimeSpec, "registryAuth"> {
  return {
    name: runtime.name,
    image: runtime.image,
    source: runtime.source === "BUILTIN" ? "builtin" : "registry",
    containerPort: runtime.containerPort,
    readinessPath: runtime.readinessPath,
    protocol: runtime.protocol.toLowerCase() as RuntimeSpec["protocol"],
    modelMountPath: runtime.modelMountPath,
    args: runtime.args,
    env: runtime.env as Record<string, string>,
  };
}

/** What an agent needs to run a container of this runtime; the registry password unsealed for it alone. */
export function runtimeSpec(runtime: Runtime): RuntimeSpec {
  const registry = runtime.image.includes("/") ? runtime.image.split("/")[0]! : "docker.io";
  return {
    ...runtimeContainer(runtime),
    registryAuth:
      runtime.registryUsername && runtime.registryPasswordSealed
        ? { username: runtime.registryUsername, password: unseal(runtime.registryPasswordSealed), serveraddress: registry }
        : null,
  };
}

export function notFoundRuntime(name: string) {
  return new BerthError("not_found", `No runtime named "${name}". List them with \`berth runtimes list\`.`);
}

/**
 * The built-in ONNX runtime is registered (or brought up to date with this
 * release's image) on every start; an admin cannot edit or delete it.
 */
export async function ensureBuiltinRuntimes(options: { onnxImage: string }): Promise<void> {
  const builtin = {
    description: "Berth's ONNX server (onnxruntime-node), Open Inference Protocol V2. Made offline; agents fetch its image from the control plane.",
    image: options.onnxImage,
    source: "BUILTIN" as const,
    containerPort: 8080,
    readinessPath: "/v2/health/ready",
    protocol: "OPEN_INFERENCE_V2" as const,
    modelMountPath: "/models",
    supportedFormats: [toDbFormat("onnx")],
    args: [],
    env: {},
  };
  await getDb().runtime.upsert({
    where: { name: BUILTIN_ONNX_RUNTIME },
    create: { name: BUILTIN_ONNX_RUNTIME, ...builtin, createdBy: "Berth" },
    update: builtin,
  });
}

export async function listRuntimes(): Promise<RuntimeView[]> {
  const runtimes = await getDb().runtime.findMany({ orderBy: [{ source: "asc" }, { name: "asc" }] });
  return runtimes.map(runtimeView);
}

/** A runtimes row as Prisma's `Runtime`, for plain SQL (lib/db/sql.ts): `SELECT ${RUNTIME_COLUMNS} FROM runtimes r`. */
export const RUNTIME_COLUMNS = `r.id, r.name, r.description, r.image, r.source, r.container_port AS "containerPort", r.readiness_path AS "readinessPath",
  r.protocol, r.model_mount_path AS "modelMountPath", r.supported_formats::text[] AS "supportedFormats", r.args, r.env,
  r.registry_username AS "registryUsername", r.registry_password_sealed AS "registryPasswordSealed", r.created_by AS "createdBy",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;

/** Read on every deployment create, through plain SQL (lib/db/sql.ts). */
export async function findRuntime(name: string): Promise<Runtime> {
  if (!ZRuntimeName.safeParse(name).success) throw notFoundRuntime(name);
  const [runtime] = await pooledSql().query<Runtime>(`SELECT ${RUNTIME_COLUMNS} FROM runtimes r WHERE r.name = $1`, [name]);
  if (!runtime) throw notFoundRuntime(name);
  return runtime;
}

export async function getRuntime(name: string): Promise<RuntimeView> {
  return runtimeView(await findRuntime(name));
}

function credentialColumns(input: { registryUsername?: string | null; registryPassword?: string | null }) {
  const columns: { registryUsername?: string | null; registryPasswordSealed?: string | null } = {};
  if (input.registryUsername !== undefined) columns.registryUsername = input.registryUsername || null;
  if (input.registryPassword !== undefined) columns.registryPasswordSealed = input.registryPassword ? seal(input.registryPassword) : null;
  return columns;
}

/** Audit details name what changed, never the password (and no key the audit writer refuses, such as "password"). */
function auditedFields(input: Record<string, unknown>) {
  const { registryPassword, ...rest } = input;
  return { ...rest, ...(registryPassword !== undefined ? { registryLoginChanged: true } : {}) };
}

export async function createRuntime(options: { actor: Actor; request: RequestContext; input: TCreateRuntime }): Promise<RuntimeView> {
  const { input } = options;
  try {
    return await getDb().$transaction(async (tx) => {
      const created = await tx.runtime.create({
        data: {
          name: input.name,
          description: input.description,
          image: input.image,
          source: "REGISTRY",
          containerPort: input.containerPort,
          readinessPath: input.readinessPath,
          protocol: input.protocol.toUpperCase() as Runtime["protocol"],
          modelMountPath: input.modelMountPath,
          supportedFormats: input.supportedFormats.map(toDbFormat),
          args: input.args,
          env: input.env as Prisma.InputJsonObject,
          ...credentialColumns(input),
          createdBy: options.actor.label,
        },
      });
      await recordAuditEvent(tx, {
        actor: auditActor(options.actor),
        request: options.request,
        action: "runtime.create",
        target: { kind: "runtime", id: created.id, label: created.name },
        details: { image: created.image, protocol: input.protocol, containerPort: created.containerPort, usesRegistryLogin: created.registryPasswordSealed !== null },
      });
      return runtimeView(created);
    });
  } catch (error) {
    throw fromPrismaError(error, `runtime "${input.name}"`) ?? error;
  }
}

export async function updateRuntime(options: { actor: Actor; request: RequestContext; name: string; input: TUpdateRuntime }): Promise<RuntimeView> {
  const runtime = await findRuntime(options.name);
  if (runtime.source === "BUILTIN") throw new BerthError("conflict", `"${runtime.name}" is Berth's built-in runtime and changes with each release; register your own runtime instead`);
  const { input } = options;
  const view = await getDb().$transaction(async (tx) => {
    const updated = await tx.runtime.update({
      where: { id: runtime.id },
      data: {
        description: input.description,
        image: input.image,
        containerPort: input.containerPort,
        readinessPath: input.readinessPath,
        args: input.args,
        env: input.env as Prisma.InputJsonObject | undefined,
        supportedFormats: input.supportedFormats?.map(toDbFormat),
        ...credentialColumns(input),
      },
    });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "runtime.update",
      target: { kind: "runtime", id: runtime.id, label: runtime.name },
      details: { changed: auditedFields(input as Record<string, unknown>) },
    });
    return runtimeView(updated);
  });
  // After commit, so no reader re-caches the old credentials in between.
  forgetCachedWorkloads();
  return view;
}

export async function deleteRuntime(options: { actor: Actor; request: RequestContext; name: string }): Promise<void> {
  const runtime = await findRuntime(options.name);
  if (runtime.source === "BUILTIN") throw new BerthError("conflict", `"${runtime.name}" is Berth's built-in runtime and cannot be deleted`);
  await getDb().$transaction(async (tx) => {
    const users = await tx.deployment.findMany({ where: { runtimeId: runtime.id }, select: { name: true } });
    if (users.length > 0) throw new BerthError("conflict", `Runtime "${runtime.name}" is used by ${users.map((d) => d.name).join(", ")}; delete or move those deployments first`);
    await tx.runtime.delete({ where: { id: runtime.id } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "runtime.delete",
      target: { kind: "runtime", id: runtime.id, label: runtime.name },
    });
  });
}
