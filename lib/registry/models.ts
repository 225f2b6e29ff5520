import type { Model, Prisma } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { ZModelName, type TCreateModel, type TUpdateModel } from "./schemas";

export type ModelView = {
  id: string;
  name: string;
  displayName: string;
  description: string;
  task: string | null;
  tags: string[];
  owner: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  versionCount: number;
  latestVersion: string | null;
};

type ModelWithVersions = Model & { _count: { versions: number }; versions: { label: string }[] };

const WITH_SUMMARY = {
  _count: { select: { versions: true } },
  versions: { select: { label: true }, orderBy: { number: "desc" as const }, take: 1 },
} satisfies Prisma.ModelInclude;

export function modelView(model: ModelWithVersions): ModelView {
  return {
    id: model.id,
    name: model.name,
    displayName: model.displayName,
    description: model.description,
    task: model.task,
    tags: model.tags,
    owner: model.owner,
    createdBy: model.createdBy,
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
    versionCount: model._count.versions,
    latestVersion: model.versions[0]?.label ?? null,
  };
}

export function notFoundModel(name: string): BerthError {
  return new BerthError("not_found", `No model named "${name}"`);
}

/** A name from a URL: anything that is not a valid model name cannot exist, so it is a 404, not a 400. */
export function assertModelName(name: string): string {
  if (!ZModelName.safeParse(name).success) throw notFoundModel(name);
  return name;
}

export async function createModel(options: { actor: Actor; request: RequestContext; input: TCreateModel }): Promise<ModelView> {
  const { input } = options;
  return getDb().$transaction(async (tx) => {
    if (await tx.model.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw new BerthError("conflict", `A model named "${input.name}" already exists`);
    }
    const model = await tx.model.create({
      data: {
        name: input.name,
        displayName: input.displayName ?? input.name,
        description: input.description,
        task: input.task ?? null,
        tags: [...new Set(input.tags)],
        owner: input.owner ?? null,
        createdBy: options.actor.label,
      },
      include: WITH_SUMMARY,
    });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "model.create",
      target: { kind: "model", id: model.id, label: model.name },
      details: { displayName: model.displayName, task: model.task, tags: model.tags, owner: model.owner },
    });
    return modelView(model);
  });
}

export async function updateModel(options: { actor: Actor; request: RequestContext; name: string; input: TUpdateModel }): Promise<ModelView> {
  const name = assertModelName(options.name);
  return getDb().$transaction(async (tx) => {
    const before = await tx.model.findUnique({ where: { name } });
    if (!before) throw notFoundModel(name);
    const { input } = options;
    const model = await tx.model.update({
      where: { id: before.id },
      data: { ...input, ...(input.tags ? { tags: [...new Set(input.tags)] } : {}) },
      include: WITH_SUMMARY,
    });
    const changes = Object.fromEntries(
      Object.keys(input).map((key) => [key, { from: before[key as keyof TUpdateModel] ?? null, to: model[key as keyof TUpdateModel] ?? null }]),
    );
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "model.update",
      target: { kind: "model", id: model.id, label: model.name },
      details: { changes },
    });
    return modelView(model);
  });
}

export async function deleteModel(options: { actor: Actor; request: RequestContext; name: string }): Promise<void> {
  const name = assertModelName(options.name);
  await getDb().$transaction(async (tx) => {
    const model = await tx.model.findUnique({ where: { name }, include: { _count: { select: { versions: true } } } });
    if (!model) throw notFoundModel(name);
    if (model._count.versions > 0) {
      throw new BerthError("conflict", `Model "${name}" still has ${model._count.versions} version(s); delete them first`);
    }
    await tx.model.delete({ where: { id: model.id } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "model.delete",
      target: { kind: "model", id: model.id, label: model.name },
    });
  });
}

export async function listModels(options: { search?: string; limit: number; after?: string }): Promise<{ models: ModelView[]; nextAfter: string | null }> {
  const q = options.search?.trim();
  const where: Prisma.ModelWhereInput = {
    ...(q
      ? {
          OR: [
            { name: { contains: q, mode: "insensitive" } },
            { displayName: { contains: q, mode: "insensitive" } },
            { description: { contains: q, mode: "insensitive" } },
            { task: { contains: q, mode: "insensitive" } },
            { tags: { has: q } },
          ],
        }
      : {}),
    ...(options.after ? { name: { gt: options.after } } : {}),
  };
  const rows = await getDb().model.findMany({ where, orderBy: { name: "asc" }, take: options.limit + 1, include: WITH_SUMMARY });
  const page = rows.slice(0, options.limit);
  return { models: page.map(modelView), nextAfter: rows.length > options.limit ? (page.at(-1)?.name ?? null) : null };
}

export async function getModel(name: string): Promise<ModelView> {
  const model = await getDb().model.findUnique({ where: { name: assertModelName(name) }, include: WITH_SUMMARY });
  if (!model) throw notFoundModel(name);
  return modelView(model);
}
