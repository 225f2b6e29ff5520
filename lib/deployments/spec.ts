import { createHash } from "node:crypto";
import type { Model, ModelVersion } from "@prisma/client";
import type { RuntimeSpec, Workload } from "@/lib/protocol/agent";
import { fromDbFormat } from "@/lib/registry/schemas";
import { canonicalJson } from "@/lib/audit/canonical";
import { runtimeContainer, type RuntimeContainerColumns } from "./runtimes";
import type { Resources } from "./placement";

/**
 * A replica's spec: everything that shapes its container, frozen when the
 * replica is made. Old replicas keep their spec during a rollout, so
 * changing the deployment never restarts them behind the rollout's back.
 * Registry credentials are not part of it (they are read fresh for the agent).
 */
export type ReplicaSpec = Omit<Workload, "replicaId" | "deploymentId" | "deploymentName" | "slot" | "specHash" | "generation" | "runtime"> & {
  runtime: Omit<RuntimeSpec, "registryAuth">;
};

export function replicaSpec(options: {
  version: Pick<ModelVersion, "sha256" | "format"> & { sizeBytes: bigint | number; model: Pick<Model, "name"> };
  runtime: RuntimeContainerColumns;
  resources: Resources;
  env: Record<string, string>;
}): ReplicaSpec {
  const { version, runtime } = options;
  const format = fromDbFormat(version.format);
  return {
    modelName: version.model.name,
    artifact: {
      sha256: version.sha256,
      sizeBytes: Number(version.sizeBytes),
      // The name inside the container: the runtime finds the model by it, so keep it plain.
      fileName: `model.${format === "onnx" ? "onnx" : format === "gguf" ? "gguf" : format === "safetensors" ? "safetensors" : "bin"}`,
      format,
      downloadPath: `/api/v1/agent/artifacts/${version.sha256}`,
    },
    runtime: runtimeContainer(runtime),
    resources: { cpus: options.resources.cpus, memoryBytes: options.resources.memoryBytes, gpus: options.resources.gpus },
    env: options.env,
  };
}

export function specHash(spec: ReplicaSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}
