import path from "node:path";

/**
 * Every environment variable Berth reads, in one place, so docs/configuration.md
 * and the code cannot disagree about names or defaults.
 */
export type BerthSettings = {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  publicUrl: string | undefined;
  secret: string | undefined;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  maxJsonBodyBytes: number;
  logLevel: string;
  /** Content-addressed artifact store; put it on shared storage for several replicas. */
  blobDir: string;
  /** Unfinished resumable uploads; must be on the same filesystem as blobDir (finished uploads are renamed into it). */
  uploadDir: string;
  maxArtifactBytes: number;
  uploadExpiryHours: number;
  /** Largest request body the inference gateway forwards (413 beyond it). */
  inferenceMaxBodyBytes: number;
  /** How long the gateway waits for a replica's response headers, and between body chunks (504 beyond it). */
  inferenceTimeoutMs: number;
  /** Days of inference access log kept; older rows are purged hourly. */
  inferenceLogRetentionDays: number;
  /** Days of audit log kept; null keeps it forever (the default). Purges go through lib/audit/retention.ts. */
  auditRetentionDays: number | null;
  /** First webhook retry after this many seconds, doubling per attempt (capped at an hour); docs/webhooks.md. */
  webhookRetryBaseSeconds: number;
};

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The JSON body limit alone: read on every agent-channel request, where
 * `readSettings()` (some thirty environment lookups and path resolutions)
 * cost about 10 us each time.
 */
export function maxJsonBodyBytes(env: NodeJS.ProcessEnv = process.env): number {
  return positiveInt("BERTH_MAX_JSON_BODY_BYTES", env.BERTH_MAX_JSON_BODY_BYTES, 1024 * 1024);
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): BerthSettings {
  // turbopackIgnore: folders chosen at run time, not files for the build to trace.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ env.BERTH_DATA_DIR || ".berth");
  const blobDir = path.resolve(/*turbopackIgnore: true*/ env.BERTH_BLOB_DIR || path.join(dataDir, "blobs"));
  return {
    dataDir,
    blobDir,
    uploadDir: path.join(blobDir, "uploads"),
    maxArtifactBytes: positiveInt("BERTH_MAX_ARTIFACT_BYTES", env.BERTH_MAX_ARTIFACT_BYTES, 50 * 1024 ** 3),
    uploadExpiryHours: positiveInt("BERTH_UPLOAD_EXPIRY_HOURS", env.BERTH_UPLOAD_EXPIRY_HOURS, 24),
    databaseUrl: env.DATABASE_URL || undefined,
    host: env.BERTH_HOST || "0.0.0.0",
    port: positiveInt("BERTH_PORT", env.BERTH_PORT ?? env.PORT, 3000),
    publicUrl: env.BERTH_PUBLIC_URL || undefined,
    secret: env.BERTH_SECRET || undefined,
    adminEmail: env.BERTH_ADMIN_EMAIL || undefined,
    adminPassword: env.BERTH_ADMIN_PASSWORD || undefined,
    maxJsonBodyBytes: maxJsonBodyBytes(env),
    logLevel: env.BERTH_LOG_LEVEL || "info",
    inferenceMaxBodyBytes: positiveInt("BERTH_INFERENCE_MAX_BODY_BYTES", env.BERTH_INFERENCE_MAX_BODY_BYTES, 64 * 1024 * 1024),
    inferenceTimeoutMs: positiveInt("BERTH_INFERENCE_TIMEOUT_SECONDS", env.BERTH_INFERENCE_TIMEOUT_SECONDS, 60) * 1000,
    inferenceLogRetentionDays: positiveInt("BERTH_INFERENCE_LOG_RETENTION_DAYS", env.BERTH_INFERENCE_LOG_RETENTION_DAYS, 30),
    auditRetentionDays: env.BERTH_AUDIT_RETENTION_DAYS ? positiveInt("BERTH_AUDIT_RETENTION_DAYS", env.BERTH_AUDIT_RETENTION_DAYS, 1) : null,
    webhookRetryBaseSeconds: positiveInt("BERTH_WEBHOOK_RETRY_BASE_SECONDS", env.BERTH_WEBHOOK_RETRY_BASE_SECONDS, 10),
  };
}
