import { z } from "zod";
import { ZModelName } from "@/lib/registry/schemas";

/** Server names follow the same rules as model names: they appear in URLs and commands. */
export const ZServerName = ZModelName;

export const ZLabels = z
  .record(
    z.string().regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/, { message: "Label keys: lowercase letters, digits, '.', '_', '/', '-'" }),
    z.string().max(63).regex(/^[A-Za-z0-9._-]*$/, { message: "Label values: letters, digits, '.', '_', '-'" }),
  )
  .refine((labels) => Object.keys(labels).length <= 32, { message: "At most 32 labels" });

export const ZAddServer = z
  .object({
    name: ZServerName,
    labels: ZLabels.default({}),
    enrolmentTtlMinutes: z.number().int().min(5).max(7 * 24 * 60).default(60),
  })
  .strict();
export type TAddServer = z.infer<typeof ZAddServer>;

export const ZServerAction = z.object({ action: z.enum(["drain", "disable", "activate"]) }).strict();
