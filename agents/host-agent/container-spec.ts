import path from "node:path";
import type Docker from "dockerode";
import { CONTAINER_LABELS, type Workload } from "@/lib/protocol/agent";

/**
 * What the agent asks Docker to create for a workload, built as data (no
 * shell anywhere: names, labels, env and args go to the Engine API as
 * strings), so hostile values in a workload can at worst make an odd name.
 */

/** `berth-<deploymentName>-<slot>-<first 8 of replicaId>`, reduced to what Docker accepts in a name. */
export function containerName(workload: Pick<Workload, "deploymentName" | "slot" | "replicaId">): string {
  const clean = (value: string) =>
    value
      .replace(/[^a-zA-Z0-9_.]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^[-_.]+|[-_.]+$/g, "");
  const name = clean(workload.deploymentName).slice(0, 80) || "deployment";
  return `berth-${name}-${workload.slot}-${clean(workload.replicaId).slice(0, 8)}`;
}

/** The file name of the artifact inside the container: one path segment, never a way out of the mount path. */
export function modelFileName(fileName: string): string {
  const base = path.posix.basename(fileName.replace(/\\/g, "/"));
  if (!base || base === "." || base === ".." || /[\0:]/.test(base)) throw new Error(`unusable artifact file name ${JSON.stringify(fileName.slice(0, 100))}`);
  return base;
}

export function containerLabels(workload: Workload, scopeLabels: Record<string, string> = {}): Record<string, string> {
  return {
    ...scopeLabels,
    [CONTAINER_LABELS.managed]: "true",
    [CONTAINER_LABELS.deployment]: workload.deploymentId,
    [CONTAINER_LABELS.deploymentName]: workload.deploymentName,
    [CONTAINER_LABELS.replica]: workload.replicaId,
    [CONTAINER_LABELS.slot]: String(workload.slot),
    [CONTAINER_LABELS.specHash]: workload.specHash,
    [CONTAINER_LABELS.sha256]: workload.artifact.sha256,
  };
}

export function containerEnv(workload: Workload): string[] {
  const modelPath = path.posix.join(workload.runtime.modelMountPath, modelFileName(workload.artifact.fileName));
  const env: Record<string, string> = {
    ...workload.runtime.env,
    ...workload.env,
    BERTH_MODEL_PATH: modelPath,
    BERTH_MODEL_NAME: workload.modelName,
    PORT: String(workload.runtime.containerPort),
  };
  return Object.entries(env)
    .filter(([key]) => /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
    .map(([key, value]) => `${key}=${value}`);
}

export function buildContainerSpec(options: {
  workload: Workload;
  /** The verified artifact on the host (the cache path). */
  artifactPath: string;
  bindAddress: string;
  scopeLabels?: Record<string, string>;
}): Docker.ContainerCreateOptions {
  const { workload } = options;
  const runtime = workload.runtime;
  if (!path.posix.isAbsolute(runtime.modelMountPath)) throw new Error(`the runtime's model mount path must be absolute, not ${JSON.stringify(runtime.modelMountPath.slice(0, 100))}`);
  if (/[:\0]/.test(options.artifactPath) || /[:\0]/.test(runtime.modelMountPath)) throw new Error("a bind mount path may not contain ':' (Docker's separator)");
  const target = path.posix.join(runtime.modelMountPath, modelFileName(workload.artifact.fileName));
  const port = `${runtime.containerPort}/tcp`;
  const { cpus, memoryBytes, gpus } = workload.resources;
  return {
    name: containerName(workload),
    Image: runtime.image,
    Labels: containerLabels(workload, options.scopeLabels),
    Env: containerEnv(workload),
    ...(runtime.args.length > 0 ? { Cmd: [...runtime.args] } : {}),
    ExposedPorts: { [port]: {} },
    HostConfig: {
      Binds: [`${options.artifactPath}:${target}:ro`],
      PortBindings: { [port]: [{ HostIp: options.bindAddress, HostPort: "" }] },
      ...(cpus ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
      ...(memoryBytes ? { Memory: memoryBytes } : {}),
      ...(gpus > 0 ? { DeviceRequests: [{ Driver: "nvidia", Count: gpus, Capabilities: [["gpu"]] }] } : {}),
      // The agent restarts crashed containers itself, so it can count them.
      RestartPolicy: { Name: "no" },
    },
  };
}
