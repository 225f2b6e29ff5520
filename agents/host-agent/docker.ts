import Docker from "dockerode";

/**
 * The agent's one door to the Docker Engine (CapRover keeps all dockerode
 * calls in one module the same way). Containers Berth runs carry the
 * MANAGED_LABEL; those labels are the agent's memory across restarts.
 */
export const MANAGED_LABEL = "io.berth.managed";

export type DockerStatus = { available: boolean; version: string | null; apiVersion: string | null; error: string | null };

export function connectDocker(socketPath = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock") {
  const docker = new Docker({ socketPath, timeout: 10_000 });

  async function status(): Promise<DockerStatus> {
    try {
      const version = await docker.version();
      return { available: true, version: version.Version ?? null, apiVersion: version.ApiVersion ?? null, error: null };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { available: false, version: null, apiVersion: null, error: code === "ENOENT" ? `no Docker Engine socket at ${socketPath}` : ((error as Error).message ?? "unreachable").slice(0, 300) };
    }
  }

  async function listManaged() {
    const containers = await docker.listContainers({ all: true, filters: { label: [MANAGED_LABEL] } });
    return containers.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      image: c.Image,
      state: c.State,
      labels: Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([key]) => key.startsWith("io.berth."))),
    }));
  }

  return { status, listManaged };
}
