import { z } from "zod";

/**
 * The wire protocol between the host agent (agents/) and the control plane.
 * The one module both sides import: the agent never sees the database, the
 * control plane never guesses what an agent sends.
 */
export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_CREDENTIAL_PREFIX = "berth_agent";
export const ENROLMENT_TOKEN_PREFIX = "berth_enrol";

/**
 * The agent's container image, versioned with Berth: `berth admin build-agent-image`
 * (or the Dockerfile) makes it, the enrolment `docker run` line names it, and
 * docker-compose.yml runs it. One name, so they cannot disagree.
 */
export const AGENT_IMAGE_REPOSITORY = "berth/agent";
export const agentImageTag = (version: string) => `${AGENT_IMAGE_REPOSITORY}:${version}`;
/** Where the control plane serves that image for `curl … | docker load` (no registry needed); public, like the agent bundle. */
export const AGENT_IMAGE_DOWNLOAD_PATH = "/downloads/berth-agent-image.tar";

export const ZGpu = z.object({
  index: z.number().int().min(0),
  name: z.string().max(200),
  memoryTotalMiB: z.number().nonnegative().nullable(),
  memoryUsedMiB: z.number().nonnegative().nullable(),
  driverVersion: z.string().max(100).nullable(),
  utilizationPercent: z.number().min(0).max(100).nullable(),
});
export type Gpu = z.infer<typeof ZGpu>;

export const ZManagedContainer = z.object({
  id: z.string().max(128),
  name: z.string().max(255),
  image: z.string().max(500),
  state: z.string().max(50),
  labels: z.record(z.string().max(200), z.string().max(500)).default({}),
});

export const ZInventory = z.object({
  hostname: z.string().min(1).max(255),
  os: z.object({ platform: z.string().max(50), release: z.string().max(200), kernel: z.string().max(200), arch: z.string().max(50) }),
  cpu: z.object({ model: z.string().max(200), cores: z.number().int().min(1) }),
  memory: z.object({ totalBytes: z.number().nonnegative(), freeBytes: z.number().nonnegative() }),
  disk: z.object({ path: z.string().max(1000), totalBytes: z.number().nonnegative(), freeBytes: z.number().nonnegative() }).nullable(),
  docker: z.object({ available: z.boolean(), version: z.string().max(100).nullable(), apiVersion: z.string().max(20).nullable(), error: z.string().max(500).nullable() }),
  gpus: z.array(ZGpu).max(64),
  agentVersion: z.string().max(50),
  containers: z.array(ZManagedContainer).max(1000),
});
export type Inventory = z.infer<typeof ZInventory>;

export const ZEnrolRequest = z.object({ token: z.string().min(1).max(200), inventory: ZInventory }).strict();
export const ZEnrolResponse = z.object({
  serverId: z.string(),
  serverName: z.string(),
  credential: z.string(),
  heartbeatIntervalSeconds: z.number().int().positive(),
});

export const ZHeartbeatRequest = z.object({ inventory: ZInventory, observedGeneration: z.number().int().min(0).nullable() }).strict();
export const ZHeartbeatResponse = z.object({
  serverName: z.string(),
  generation: z.number().int(),
  heartbeatIntervalSeconds: z.number().int().positive(),
  /** The control plane asks the agent to fetch a new credential (POST /api/v1/agent/credential). */
  rotateCredential: z.boolean(),
  adminState: z.enum(["active", "draining", "disabled"]),
});

export const ZCredentialResponse = z.object({ credential: z.string() });

export const ZDesiredStateQuery = z
  .object({
    /** The generation the agent already has; the answer waits until there is a newer one. */
    after: z.coerce.number().int().min(0).optional(),
    waitSeconds: z.coerce.number().int().min(0).max(60).default(25),
  })
  .strict();

/* ---------- Deployments: what the agent runs, and what it reports ---------- */

/** Docker labels the agent writes on every container it runs: its memory across restarts. */
export const CONTAINER_LABELS = {
  managed: "io.berth.managed",
  deployment: "io.berth.deployment",
  deploymentName: "io.berth.deployment-name",
  replica: "io.berth.replica",
  slot: "io.berth.slot",
  specHash: "io.berth.spec-hash",
  sha256: "io.berth.artifact-sha256",
} as const;

export const ZRuntimeSpec = z.object({
  name: z.string(),
  image: z.string(),
  /**
   * "builtin": the agent fetches the image from the control plane
   * (GET /api/v1/agent/runtime-images/{name}) and `docker import`s it when missing,
   * so hosts with no registry can run it. "registry": pulled (with credentials when given).
   */
  source: z.enum(["builtin", "registry"]),
  containerPort: z.number().int().min(1).max(65535),
  readinessPath: z.string(),
  protocol: z.enum(["open_inference_v2", "openai", "custom"]),
  modelMountPath: z.string(),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  /** Registry credentials, decrypted for this agent only; never logged. */
  registryAuth: z.object({ username: z.string(), password: z.string(), serveraddress: z.string() }).nullable(),
});
export type RuntimeSpec = z.infer<typeof ZRuntimeSpec>;

export const ZWorkload = z.object({
  /** The replica row this container realises; a new id for every replacement (rollout). */
  replicaId: z.string(),
  deploymentId: z.string(),
  deploymentName: z.string(),
  slot: z.number().int().min(0),
  /** Hash of everything that shapes the container; a container with another hash is replaced. */
  specHash: z.string(),
  /** The deployment's generation this workload was computed at. */
  generation: z.number().int(),
  /** The name the model answers to in the runtime's API (V2: /v2/models/{modelName}). */
  modelName: z.string(),
  artifact: z.object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    sizeBytes: z.number().int().nonnegative(),
    fileName: z.string(),
    format: z.string(),
    /** Path on the control plane, e.g. /api/v1/agent/artifacts/{sha256}; Range requests resume. */
    downloadPath: z.string(),
  }),
  runtime: ZRuntimeSpec,
  resources: z.object({
    cpus: z.number().positive().nullable(),
    memoryBytes: z.number().int().positive().nullable(),
    gpus: z.number().int().min(0),
  }),
  env: z.record(z.string(), z.string()),
});
export type Workload = z.infer<typeof ZWorkload>;

export const ZReplicaPhase = z.enum(["pending", "downloading", "starting", "ready", "unhealthy", "failed", "stopping", "stopped"]);
export type ReplicaPhase = z.infer<typeof ZReplicaPhase>;

export const ZReplicaStatus = z.object({
  replicaId: z.string().max(64),
  deploymentId: z.string().max(64),
  phase: ZReplicaPhase,
  containerId: z.string().max(128).nullable(),
  /** Where the control plane's gateway reaches it, e.g. http://10.0.0.5:49153. */
  endpoint: z.string().max(500).nullable(),
  hostPort: z.number().int().min(0).max(65535).nullable(),
  restartCount: z.number().int().min(0),
  message: z.string().max(4000).nullable(),
  observedGeneration: z.number().int().nullable(),
  /** Download progress while phase is "downloading". */
  progress: z.object({ doneBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }).nullable(),
  /** The container's last log lines (stdout and stderr), newest last. */
  logTail: z.array(z.string().max(2000)).max(200).nullable(),
});
export type ReplicaStatus = z.infer<typeof ZReplicaStatus>;

/**
 * Sent when anything changed (and at least with every heartbeat interval).
 * Lists every replica the agent knows of, including containers it is
 * stopping because they are no longer desired; a replica absent from the
 * list has no container on this host.
 */
export const ZStatusReport = z
  .object({
    observedGeneration: z.number().int().min(0).nullable(),
    replicas: z.array(ZReplicaStatus).max(500),
  })
  .strict();
export type StatusReport = z.infer<typeof ZStatusReport>;
export const ZStatusResponse = z.object({ accepted: z.number().int() });

export const ZDesiredState = z.object({
  generation: z.number().int(),
  /** What should run on this host; containers of replicas not listed here are stopped and removed. */
  workloads: z.array(ZWorkload),
  /** Seconds to wait between taking a replica out of traffic and stopping its container. */
  drainSeconds: z.number().int().min(0),
});
export type DesiredState = z.infer<typeof ZDesiredState>;
