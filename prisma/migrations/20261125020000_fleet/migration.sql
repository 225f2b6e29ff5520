-- CreateEnum
CREATE TYPE "ServerAdminState" AS ENUM ('ACTIVE', 'DRAINING', 'DISABLED');

-- CreateEnum
CREATE TYPE "ServerConnectivity" AS ENUM ('NEVER_SEEN', 'ONLINE', 'OFFLINE');

-- CreateTable
CREATE TABLE "servers" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "admin_state" "ServerAdminState" NOT NULL DEFAULT 'ACTIVE',
    "connectivity" "ServerConnectivity" NOT NULL DEFAULT 'NEVER_SEEN',
    "enrolment_token_hash" TEXT,
    "enrolment_expires_at" TIMESTAMPTZ(3),
    "enrolled_at" TIMESTAMPTZ(3),
    "credential_hash" TEXT,
    "previous_credential_hash" TEXT,
    "rotation_requested" BOOLEAN NOT NULL DEFAULT false,
    "last_seen_at" TIMESTAMPTZ(3),
    "agent_version" TEXT,
    "hostname" TEXT,
    "inventory" JSONB,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "observed_generation" INTEGER,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "servers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "servers_name_key" ON "servers"("name");

-- CreateIndex
CREATE UNIQUE INDEX "servers_enrolment_token_hash_key" ON "servers"("enrolment_token_hash");

-- CreateIndex
CREATE UNIQUE INDEX "servers_credential_hash_key" ON "servers"("credential_hash");

-- CreateIndex
CREATE UNIQUE INDEX "servers_previous_credential_hash_key" ON "servers"("previous_credential_hash");

