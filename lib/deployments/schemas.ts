import { z } from "zod";
import { ZFormat, ZModelName, ZVersionLabel } from "@/lib/registry/schemas";
import { ZLabels } from "@/lib/fleet/schemas";

/** Deployment and runtime names appear in URLs, container names and commands: the model-name rules. */
export const ZDeploymentName = ZModelName;
export const ZRuntimeName = ZModelName;

/** `model@version`, e.g. `iris@1` or `iris@prod-2026-11`. */
export const ZModelRef = z
  .string()
  .max(130)
  .transform((value, ctx) => {
    const at = value.lastIndexOf("@");
    const model = at > 0 ? value.slice(0, at) : "";
    const version = at > 0 ? value.slice(at + 1) : "";
    if (!ZModelName.safeParse(model).success || !ZVersionLabel.safeParse(version).success) {
      ctx.addIssue({ code: "custom", message: "Name a model version as MODEL@VERSION, for example iris@1" });
      return z.NEVER;
    }
    return { model, version };
  });

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** Memory as Docker writes it (`512m`, `2g`) or a number of bytes. */
export const ZMemory = z.union([z.number().int().min(6 * 1024 ** 2), z.string().max(20)]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    ctx.addIssue({ code: "custom", message: "Write memory as a number of bytes or with a unit: 512m, 2g" });
    return z.NEVER;
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 6 * 1024 ** 2) {
    ctx.addIssue({ code: "custom", message: "Docker needs at least 6 MiB of memory per container" });
    return z.NEVER;
  }
  return bytes;
});

const ZEnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "Environment variable names: letters, digits and _, not starting with a digit" }).max(100);
export const ZEnv = z
  .record(ZEnvName, z.string().max(4000))
  .refine((env) => Object.keys(env).length <= 64, { message: "At most 64 environment variables" })
  .refine((env) => !Object.keys(env).some((key) => key.startsWith("BERTH_")), { message: "Variables starting with BERTH_ are set by Berth itself" });

const ZPlacement = {
  servers: z.array(ZModelName).min(1).max(100).optional(),
  selector: ZLabels.optional(),
};

export const ZCreateDeployment = z
  .object({
    name: ZDeploymentName,
    model: ZModelRef,
    ...ZPlacement,
    replicas: z.number().int().min(1).max(64).optional(),
    runtime: ZRuntimeName.optional(),
    cpus: z.number().positive().max(512).nullable().optional(),
    memory: ZMemory.nullable().optional(),
    gpus: z.number().int().min(0).max(16).default(0),
    env: ZEnv.default({}),
  })
  .strict()
  .refine((input) => (input.servers === undefined) !== (input.selector === undefined), {
    message: "Place the deployment with either servers (a list of names) or a label selector, not both",
    path: ["servers"],
  });
export type TCreateDeployment = z.infer<typeof ZCreateDeployment>;

/** Changing the model version, resources or environment rolls the replicas one at a time. */
export const ZUpdateDeployment = z
  .object({
    model: ZModelRef.optional(),
    replicas: z.number().int().min(0).max(64).optional(),
    cpus: z.number().positive().max(512).nullable().optional(),
    memory: ZMemory.nullable().optional(),
    env: ZEnv.optional(),
  })
  .strict()
  .refine((input) => Object.keys(input).length > 0, { message: "Say what to change: model, replicas, cpus, memory or env" });
export type TUpdateDeployment = z.infer<typeof ZUpdateDeployment>;

export const ZDeploymentAction = z.object({ action: z.enum(["stop", "start", "rollback"]) }).strict();

export const RUNTIME_PROTOCOLS = ["open_inference_v2", "openai", "custom"] as const;

export const ZCreateRuntime = z
  .object({
    name: ZRuntimeName,
    description: z.string().max(2000).default(""),
    image: z
      .string()
      .min(1)
      .max(300)
      .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, { message: "Give an image reference such as registry.example.com/triton:24.05" }),
    containerPort: z.number().int().min(1).max(65535),
    readinessPath: z.string().regex(/^\/[A-Za-z0-9._~\-/]*$/, { message: "A path starting with /" }).max(200),
    protocol: z.enum(RUNTIME_PROTOCOLS),
    modelMountPath: z.string().regex(/^\/[A-Za-z0-9._\-/]*$/, { message: "An absolute path inside the container" }).max(200).refine((p) => !p.includes(".."), { message: "No '..' in the mount path" }),
    supportedFormats: z.array(ZFormat).min(1),
    args: z.array(z.string().max(500)).max(50).default([]),
    env: ZEnv.default({}),
    registryUsername: z.string().max(200).nullable().optional(),
    registryPassword: z.string().max(4000).nullable().optional(),
  })
  .strict();
export type TCreateRuntime = z.infer<typeof ZCreateRuntime>;

export const ZUpdateRuntime = z
  .object({
    description: z.string().max(2000).optional(),
    image: ZCreateRuntime.shape.image.optional(),
    containerPort: ZCreateRuntime.shape.containerPort.optional(),
    readinessPath: ZCreateRuntime.shape.readinessPath.optional(),
    args: ZCreateRuntime.shape.args.unwrap().optional(),
    env: ZEnv.optional(),
    supportedFormats: ZCreateRuntime.shape.supportedFormats.optional(),
    registryUsername: z.string().max(200).nullable().optional(),
    registryPassword: z.string().max(4000).nullable().optional(),
  })
  .strict()
  .refine((input) => Object.keys(input).length > 0, { message: "Say what to change" });
export type TUpdateRuntime = z.infer<typeof ZUpdateRuntime>;
