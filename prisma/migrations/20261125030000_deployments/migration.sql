-- CreateEnum
CREATE TYPE "RuntimeProtocol" AS ENUM ('OPEN_INFERENCE_V2', 'OPENAI', 'CUSTOM');

-- CreateEnum
CREATE TYPE "RuntimeSource" AS ENUM ('BUILTIN', 'REGISTRY');

-- CreateEnum
CREATE TYPE "DeploymentDesiredState" AS ENUM ('RUNNING', 'STOPPED', 'DELETING');

-- CreateEnum
CREATE TYPE "ReplicaPhase" AS ENUM ('PENDING', 'DOWNLOADING', 'STARTING', 'READY', 'UNHEALTHY', 'FAILED', 'STOPPING', 'STOPPED');

-- AlterTable
ALTER TABLE "api_tokens" ADD COLUMN     "can_infer" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "runtimes" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "image" TEXT NOT NULL,
    "source" "RuntimeSource" NOT NULL DEFAULT 'REGISTRY',
    "container_port" INTEGER NOT NULL,
    "readiness_path" TEXT NOT NULL,
    "protocol" "RuntimeProtocol" NOT NULL,
    "model_mount_path" TEXT NOT NULL,
    "supported_formats" "ArtifactFormat"[],
    "args" TEXT[],
    "env" JSONB NOT NULL DEFAULT '{}',
    "registry_username" TEXT,
    "registry_password_sealed" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "runtimes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployments" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "model_version_id" UUID NOT NULL,
    "previous_model_version_id" UUID,
    "runtime_id" UUID NOT NULL,
    "replicas" INTEGER NOT NULL,
    "placement" JSONB NOT NULL,
    "cpus" DOUBLE PRECISION,
    "memory_bytes" BIGINT,
    "gpus" INTEGER NOT NULL DEFAULT 0,
    "env" JSONB NOT NULL DEFAULT '{}',
    "desired_state" "DeploymentDesiredState" NOT NULL DEFAULT 'RUNNING',
    "generation" INTEGER NOT NULL DEFAULT 1,
    "created_by" TEXT NOT NULL,
    "updated_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "deployments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "replicas" (
    "id" UUID NOT NULL,
    "deployment_id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "slot" INTEGER NOT NULL,
    "model_version_id" UUID NOT NULL,
    "spec" JSONB NOT NULL,
    "spec_hash" TEXT NOT NULL,
    "generation" INTEGER NOT NULL,
    "desired" BOOLEAN NOT NULL DEFAULT true,
    "requested_by" TEXT NOT NULL DEFAULT 'system',
    "stop_requested_by" TEXT,
    "stop_reason" TEXT,
    "phase" "ReplicaPhase" NOT NULL DEFAULT 'PENDING',
    "container_id" TEXT,
    "host_port" INTEGER,
    "endpoint" TEXT,
    "restart_count" INTEGER NOT NULL DEFAULT 0,
    "message" TEXT,
    "observed_generation" INTEGER,
    "progress" JSONB,
    "log_tail" TEXT[],
    "ready_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "replicas_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment_events" (
    "id" BIGSERIAL NOT NULL,
    "deployment_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "replica_id" TEXT,
    "server_name" TEXT,

    CONSTRAINT "deployment_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deployment_ledger" (
    "id" BIGSERIAL NOT NULL,
    "deployment_id" TEXT NOT NULL,
    "deployment_name" TEXT NOT NULL,
    "replica_id" TEXT NOT NULL,
    "server_id" TEXT NOT NULL,
    "server_name" TEXT NOT NULL,
    "model_name" TEXT NOT NULL,
    "model_version_id" TEXT NOT NULL,
    "model_version_label" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "container_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "started_by" TEXT NOT NULL,
    "stopped_at" TIMESTAMPTZ(3),
    "stopped_by" TEXT,
    "stop_reason" TEXT,

    CONSTRAINT "deployment_ledger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inference_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "deployment_id" TEXT NOT NULL,
    "deployment_name" TEXT NOT NULL,
    "replica_id" TEXT,
    "token_id" TEXT,
    "token_label" TEXT,
    "client_address" TEXT,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "latency_ms" DOUBLE PRECISION NOT NULL,
    "request_bytes" BIGINT NOT NULL,
    "response_bytes" BIGINT NOT NULL,
    "request_id" TEXT,

    CONSTRAINT "inference_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "runtimes_name_key" ON "runtimes"("name");

-- CreateIndex
CREATE UNIQUE INDEX "deployments_name_key" ON "deployments"("name");

-- CreateIndex
CREATE INDEX "replicas_deployment_id_idx" ON "replicas"("deployment_id");

-- CreateIndex
CREATE INDEX "replicas_server_id_idx" ON "replicas"("server_id");

-- CreateIndex
CREATE INDEX "deployment_events_deployment_id_id_idx" ON "deployment_events"("deployment_id", "id");

-- CreateIndex
CREATE INDEX "deployment_ledger_deployment_id_started_at_idx" ON "deployment_ledger"("deployment_id", "started_at");

-- CreateIndex
CREATE INDEX "deployment_ledger_model_version_id_started_at_idx" ON "deployment_ledger"("model_version_id", "started_at");

-- CreateIndex
CREATE INDEX "deployment_ledger_container_id_idx" ON "deployment_ledger"("container_id");

-- CreateIndex
CREATE INDEX "inference_log_at_idx" ON "inference_log"("at");

-- CreateIndex
CREATE INDEX "inference_log_deployment_id_at_idx" ON "inference_log"("deployment_id", "at");

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_previous_model_version_id_fkey" FOREIGN KEY ("previous_model_version_id") REFERENCES "model_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_runtime_id_fkey" FOREIGN KEY ("runtime_id") REFERENCES "runtimes"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

