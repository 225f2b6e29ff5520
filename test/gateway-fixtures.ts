import { createHash, randomUUID } from "node:crypto";
import type { ReplicaPhase, RuntimeProtocol } from "@prisma/client";
import { getDb } from "@/lib/db/client";

/**
 * Rows the gateway reads, inserted directly (the deployments code that
 * normally writes them is not the gateway's): Model → Blob → ModelVersion →
 * Runtime → Server → Deployment, then replicas with given endpoints.
 */
export async function seedDeployment(options: { name: string; model?: string; protocol?: RuntimeProtocol; desiredState?: "RUNNING" | "STOPPED" }) {
  const db = getDb();
  const modelName = options.model ?? `${options.name}-model`;
  const model = await db.model.upsert({ where: { name: modelName }, update: {}, create: { name: modelName, displayName: modelName, createdBy: "test" } });
  const sha256 = createHash("sha256").update(modelName).digest("hex");
  await db.blob.upsert({ where: { sha256 }, update: {}, create: { sha256, sizeBytes: 10n } });
  const version =
    (await db.modelVersion.findFirst({ where: { modelId: model.id, number: 1 } })) ??
    (await db.modelVersion.create({ data: { modelId: model.id, number: 1, label: "1", format: "ONNX", sha256, sizeBytes: 10n, uploadedBy: "test" } }));
  const runtime = await db.runtime.create({
    data: {
      name: `rt-${options.name}-${randomUUID().slice(0, 8)}`,
      image: "berth/onnx:test",
      containerPort: 8080,
      readinessPath: "/v2/health/ready",
      protocol: options.protocol ?? "OPEN_INFERENCE_V2",
      modelMountPath: "/model",
      supportedFormats: ["ONNX"],
      createdBy: "test",
    },
  });
  const server = await db.server.create({ data: { name: `srv-${options.name}-${randomUUID().slice(0, 8)}`, createdBy: "test" } });
  const deployment = await db.deployment.create({
    data: {
      name: options.name,
      modelVersionId: version.id,
      runtimeId: runtime.id,
      replicas: 0,
      placement: { servers: [server.name] },
      desiredState: options.desiredState ?? "RUNNING",
      createdBy: "test",
      updatedBy: "test",
    },
  });
  let slot = 0;
  const addReplica = (replica: { endpoint: string | null; phase?: ReplicaPhase; desired?: boolean }) =>
    db.replica.create({
      data: {
        deploymentId: deployment.id,
        serverId: server.id,
        slot: slot++,
        modelVersionId: version.id,
        spec: {},
        specHash: "test",
        generation: 1,
        desired: replica.desired ?? true,
        phase: replica.phase ?? "READY",
        endpoint: replica.endpoint,
      },
    });
  return { deployment, modelName, addReplica };
}
