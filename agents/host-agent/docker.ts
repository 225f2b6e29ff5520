import type { Readable } from "node:stream";
import Docker from "dockerode";
import { imageExists as sharedImageExists, loadImageArchive as sharedLoadImageArchive } from "@/runtimes/docker-images";
import { CONTAINER_LABELS, type RuntimeSpec } from "@/lib/protocol/agent";

/**
 * The agent's one door to the Docker Engine (CapRover keeps all dockerode
 * calls in one module the same way). Containers Berth runs carry the
 * MANAGED_LABEL; those labels are the agent's memory across restarts.
 */
export const MANAGED_LABEL = CONTAINER_LABELS.managed;
/**
 * The enrolled server a container belongs to. Agents sharing one Engine (test
 * rigs, several simulated hosts on one machine) each see only their own
 * containers; the control plane never needs it.
 */
export const SERVER_LABEL = "io.berth.server";

export type DockerStatus = { available: boolean; version: string | null; apiVersion: string | null; error: string | null };
export type ManagedContainer = { id: string; name: string; image: string; state: string; labels: Record<string, string>; createdAt: number };
export type ContainerDetails = { id: string; running: boolean; state: string; exitCode: number | null; finishedAt: string | null; hostPort: number | null };
export type DockerAdapter = ReturnType<typeof connectDocker>;

/** A Docker Engine API error's HTTP status (404 no such container, 304 already stopped, 409 conflict). */
export function dockerStatusCode(error: unknown): number | null {
  const code = (error as { statusCode?: unknown }).statusCode;
  return typeof code === "number" ? code : null;
}

/**
 * Splits the multiplexed stream format Docker uses for a container without a
 * TTY (8-byte header: stream, 0, 0, 0, big-endian length) into text; a
 * buffer without those headers (a TTY container) is taken as plain text.
 */
export function demultiplexLogs(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    if ((kind !== 0 && kind !== 1 && kind !== 2) || buffer[offset + 1] !== 0 || buffer[offset + 2] !== 0 || buffer[offset + 3] !== 0) {
      return offset === 0 ? buffer.toString("utf8") : Buffer.concat(parts).toString("utf8");
    }
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, Math.min(buffer.length, offset + 8 + size)));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Drains a Docker progress stream (load, pull), failing on the first error it reports. */
async function followProgress(stream: NodeJS.ReadableStream): Promise<string[]> {
  const messages: string[] = [];
  let rest = "";
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    rest += chunk.toString();
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      let event: { error?: string; errorDetail?: { message?: string }; stream?: string; status?: string };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        continue;
      }
      if (event.error || event.errorDetail) throw new Error(event.errorDetail?.message ?? event.error ?? "Docker reported an error");
      const text = event.stream ?? event.status;
      if (text) messages.push(text.trim());
    }
  }
  return messages;
}

export function connectDocker(socketPath = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock") {
  const docker = new Docker({ socketPath, timeout: 30_000 });
  // Loading an image archive takes as long as the archive takes to arrive.
  const streaming = new Docker({ socketPath });

  async function status(): Promise<DockerStatus> {
    try {
      const version = await docker.version();
      return { available: true, version: version.Version ?? null, apiVersion: version.ApiVersion ?? null, error: null };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { available: false, version: null, apiVersion: null, error: code === "ENOENT" ? `no Docker Engine socket at ${socketPath}` : ((error as Error).message ?? "unreachable").slice(0, 300) };
    }
  }

  /** Containers carrying the managed label (and every scope label, when given: tests and shared engines). */
  async function listManaged(options: { scopeLabels?: Record<string, string> } = {}): Promise<ManagedContainer[]> {
    const label = [MANAGED_LABEL, ...Object.entries(options.scopeLabels ?? {}).map(([k, v]) => `${k}=${v}`)];
    const containers = await docker.listContainers({ all: true, filters: { label } });
    return containers.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      image: c.Image,
      state: c.State,
      labels: Object.fromEntries(Object.entries(c.Labels ?? {}).filter(([key]) => key.startsWith("io.berth."))),
      createdAt: c.Created,
    }));
  }

  const imageExists = (tag: string) => sharedImageExists(docker, tag);
  /** `docker load` from a stream of a `docker save` archive (on the connection with no timeout). */
  const loadImageArchive = (archive: Readable, signal?: AbortSignal) => sharedLoadImageArchive(streaming, archive, signal);

  /**
   * The runtime's image, present locally when this returns: loaded from the
   * control plane's archive for built-in runtimes (hosts with no registry),
   * pulled (with the site's registry credentials when given) otherwise.
   */
  async function ensureImage(options: { runtime: RuntimeSpec; fetchArchive: (signal?: AbortSignal) => Promise<Readable>; signal?: AbortSignal }): Promise<"present" | "loaded" | "pulled"> {
    const { runtime } = options;
    if (await imageExists(runtime.image)) return "present";
    if (runtime.source === "builtin") {
      const archive = await options.fetchArchive(options.signal);
      await loadImageArchive(archive, options.signal);
      if (!(await imageExists(runtime.image))) throw new Error(`the control plane's archive for runtime ${runtime.name} does not contain the image ${runtime.image}`);
      return "loaded";
    }
    // Not testable here (no registry reachable): kept to the documented dockerode call.
    const auth = runtime.registryAuth ? { username: runtime.registryAuth.username, password: runtime.registryAuth.password, serveraddress: runtime.registryAuth.serveraddress } : undefined;
    // dockerode sends authconfig as the X-Registry-Auth header, never in the query string.
    const pullOptions = { ...(auth ? { authconfig: auth } : {}), ...(options.signal ? { abortSignal: options.signal } : {}) };
    const output = (await streaming.pull(runtime.image, pullOptions)) as NodeJS.ReadableStream;
    await followProgress(output);
    return "pulled";
  }

  async function createContainer(spec: Docker.ContainerCreateOptions): Promise<string> {
    const container = await docker.createContainer(spec);
    return container.id;
  }

  async function startContainer(id: string): Promise<void> {
    try {
      await docker.getContainer(id).start();
    } catch (error) {
      if (dockerStatusCode(error) !== 304) throw error; // already running
    }
  }

  async function inspectContainer(id: string): Promise<ContainerDetails | null> {
    try {
      const info = await docker.getContainer(id).inspect();
      const ports = Object.values(info.NetworkSettings?.Ports ?? {}).flatMap((bindings) => bindings ?? []);
      const hostPort = ports.map((b) => Number(b.HostPort)).find((p) => Number.isInteger(p) && p > 0) ?? null;
      return {
        id: info.Id,
        running: info.State.Running,
        state: info.State.Status,
        exitCode: info.State.Running ? null : info.State.ExitCode,
        finishedAt: info.State.FinishedAt && !info.State.FinishedAt.startsWith("0001") ? info.State.FinishedAt : null,
        hostPort,
      };
    } catch (error) {
      if (dockerStatusCode(error) === 404) return null;
      throw error;
    }
  }

  /** Stops (SIGTERM, then SIGKILL after `seconds`) and removes; a container already gone is fine. */
  async function stopAndRemove(id: string, seconds = 10): Promise<void> {
    const container = docker.getContainer(id);
    try {
      await container.stop({ t: seconds });
    } catch (error) {
      const code = dockerStatusCode(error);
      if (code === 404) return;
      if (code !== 304) throw error;
    }
    try {
      await container.remove({ v: true });
    } catch (error) {
      if (dockerStatusCode(error) !== 404) throw error;
    }
  }

  async function stopContainer(id: string, seconds = 10): Promise<void> {
    try {
      await docker.getContainer(id).stop({ t: seconds });
    } catch (error) {
      const code = dockerStatusCode(error);
      if (code !== 304 && code !== 404) throw error;
    }
  }

  /** The container's last lines of stdout and stderr, newest last. */
  async function logTail(id: string, lines = 50): Promise<string[]> {
    const buffer = await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, timestamps: false, follow: false });
    const text = demultiplexLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)));
    return text.split("\n").filter((line, index, all) => line.length > 0 || index < all.length - 1).slice(-lines);
  }

  return { status, listManaged, imageExists, loadImageArchive, ensureImage, createContainer, startContainer, inspectContainer, stopAndRemove, stopContainer, logTail, raw: docker };
}
