import { statfs } from "node:fs/promises";
import os from "node:os";
import type { Inventory } from "@/lib/protocol/agent";
import type { connectDocker } from "./docker";
import { readGpus } from "./nvidia-smi";

export async function collectInventory(options: { cacheDir: string; docker: ReturnType<typeof connectDocker>; agentVersion: string }): Promise<Inventory> {
  const cpus = os.cpus();
  const [disk, docker, gpus] = await Promise.all([
    statfs(options.cacheDir)
      .then((s) => ({ path: options.cacheDir, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize }))
      .catch(() => null),
    options.docker.status(),
    readGpus(),
  ]);
  const containers = docker.available ? await options.docker.listManaged().catch(() => []) : [];
  return {
    hostname: os.hostname(),
    os: { platform: os.platform(), release: os.release(), kernel: os.version(), arch: os.arch() },
    cpu: { model: cpus[0]?.model?.trim() ?? "unknown", cores: Math.max(1, cpus.length) },
    memory: { totalBytes: os.totalmem(), freeBytes: os.freemem() },
    disk,
    docker,
    gpus,
    agentVersion: options.agentVersion,
    containers,
  };
}
