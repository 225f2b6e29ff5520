-- CreateEnum
CREATE TYPE "ArtifactFormat" AS ENUM ('ONNX', 'SAFETENSORS', 'PYTORCH', 'GGUF', 'TENSORFLOW', 'SKLEARN', 'OTHER');

-- CreateEnum
CREATE TYPE "ModelStage" AS ENUM ('NONE', 'STAGING', 'PRODUCTION', 'ARCHIVED');

-- CreateTable
CREATE TABLE "models" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "task" TEXT,
    "tags" TEXT[],
    "owner" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blobs" (
    "sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "model_versions" (
    "id" UUID NOT NULL,
    "model_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "label" TEXT NOT NULL,
    "format" "ArtifactFormat" NOT NULL,
    "sha256" TEXT NOT NULL,
    "size_bytes" BIGINT NOT NULL,
    "file_name" TEXT,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "signature" JSONB,
    "stage" "ModelStage" NOT NULL DEFAULT 'NONE',
    "uploaded_by_id" TEXT,
    "uploaded_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_versions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "models_name_key" ON "models"("name");

-- CreateIndex
CREATE INDEX "model_versions_sha256_idx" ON "model_versions"("sha256");

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_model_id_number_key" ON "model_versions"("model_id", "number");

-- CreateIndex
CREATE UNIQUE INDEX "model_versions_model_id_label_key" ON "model_versions"("model_id", "label");

-- AddForeignKey
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_sha256_fkey" FOREIGN KEY ("sha256") REFERENCES "blobs"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

