import { z } from "zod";

/**
 * The wire protocol between the host agent (agents/) and the control plane.
 * The one module both sides import: the agent never sees the database, the
 * control plane never guesses what an agent sends.
 */
export const AGENT_PROTOCOL_VERSION = 1;
export const AGENT_CREDENTIAL_PREFIX = "berth_agent";
export const ENROLMENT_TOKEN_PREFIX = "berth_enrol";

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
export const ZDesiredState = z.object({
  generation: z.number().int(),
  /** What should run on this host. Filled by deployments; empty until then. */
  workloads: z.array(z.record(z.string(), z.unknown())),
});
export type DesiredState = z.infer<typeof ZDesiredState>;
