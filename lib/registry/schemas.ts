import type { ArtifactFormat, ModelStage } from "@prisma/client";
import { z } from "zod";

export const ZModelName = z
  .string()
  .min(1, { message: "Enter a name" })
  .max(63, { message: "Use at most 63 characters" })
  .regex(/^[a-z0-9-]+$/, { message: "Use only lowercase letters, digits and dashes (no slashes, dots or spaces)" })
  .regex(/^[a-z0-9](.*[a-z0-9])?$/, { message: "Start and end with a letter or digit" });

// Labels appear in URLs and file names: no slashes, no "..", nothing hidden.
export const ZVersionLabel = z
  .string()
  .min(1)
  .max(63, { message: "Use at most 63 characters" })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: "Use letters, digits, dots, dashes and underscores, starting with a letter or digit" })
  .refine((label) => !label.includes(".."), { message: "A version label cannot contain '..'" });

export const FORMATS = ["onnx", "safetensors", "pytorch", "gguf", "tensorflow", "sklearn", "other"] as const;
export type Format = (typeof FORMATS)[number];
export const FORMAT_LABELS: Record<Format, string> = {
  onnx: "ONNX",
  safetensors: "safetensors",
  pytorch: "PyTorch",
  gguf: "GGUF",
  tensorflow: "TensorFlow SavedModel (archive)",
  sklearn: "scikit-learn / joblib",
  other: "Other",
};
export const ZFormat = z.enum(FORMATS, { message: `Use one of: ${FORMATS.join(", ")}` });
export const toDbFormat = (format: Format) => format.toUpperCase() as ArtifactFormat;
export const fromDbFormat = (format: ArtifactFormat) => format.toLowerCase() as Format;

export const STAGES = ["none", "staging", "production", "archived"] as const;
export type Stage = (typeof STAGES)[number];
export const ZStage = z.enum(STAGES);
export const toDbStage = (stage: Stage) => stage.toUpperCase() as ModelStage;
export const fromDbStage = (stage: ModelStage) => stage.toLowerCase() as Stage;

const ZTag = z.string().trim().min(1).max(40).regex(/^[A-Za-z0-9][A-Za-z0-9:._=-]*$/, { message: "Tags use letters, digits and : . _ = -" });

export const ZMetadata = z
  .record(z.string().max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]))
  .refine((value) => Object.keys(value).length <= 50, { message: "At most 50 metadata entries" });

export const ZCreateModel = z
  .object({
    name: ZModelName,
    displayName: z.string().trim().min(1).max(120).optional(),
    description: z.string().max(4000).default(""),
    task: z.string().trim().max(80).nullable().optional(),
    tags: z.array(ZTag).max(20).default([]),
    owner: z.string().trim().max(120).nullable().optional(),
  })
  .strict();
export type TCreateModel = z.infer<typeof ZCreateModel>;

export const ZUpdateModel = z
  .object({
    displayName: z.string().trim().min(1).max(120).optional(),
    description: z.string().max(4000).optional(),
    task: z.string().trim().max(80).nullable().optional(),
    tags: z.array(ZTag).max(20).optional(),
    owner: z.string().trim().max(120).nullable().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: "Send at least one field to change" });
export type TUpdateModel = z.infer<typeof ZUpdateModel>;

export const ZUpdateVersion = z
  .object({ stage: ZStage.optional(), metadata: ZMetadata.optional() })
  .strict()
  .refine((value) => value.stage !== undefined || value.metadata !== undefined, { message: "Send stage or metadata" });
export type TUpdateVersion = z.infer<typeof ZUpdateVersion>;

/** What an upload says about the version it creates (query string of a one-shot upload, tus metadata of a resumable one). */
export const ZVersionUpload = z
  .object({
    format: ZFormat,
    version: ZVersionLabel.optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, { message: "sha256 must be 64 hex digits" })
      .transform((hex) => hex.toLowerCase())
      .optional(),
    fileName: z
      .string()
      .max(255)
      .transform((name) => name.split(/[\\/]/).pop() ?? name)
      .optional(),
  })
  .strict();
export type TVersionUpload = z.infer<typeof ZVersionUpload>;
