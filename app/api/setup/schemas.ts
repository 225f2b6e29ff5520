import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { ZFirstAdmin } from "@/lib/auth/users";
import { ROLES } from "@/lib/auth/roles";

export const setupStatus = defineApi({
  method: "get",
  path: "/api/setup",
  tag: "Setup",
  summary: "Whether first-run setup is still open (no user exists yet)",
  permission: "public",
  response: z.object({ setupNeeded: z.boolean() }),
});

export const completeSetup = defineApi({
  method: "post",
  path: "/api/setup",
  tag: "Setup",
  summary: "Create the first administrator; refused with 409 once any user exists",
  permission: "public",
  action: "user.create",
  body: ZFirstAdmin,
  status: 201,
  response: z.object({ user: z.object({ id: z.uuid(), email: z.string(), name: z.string(), role: z.enum(ROLES), createdAt: z.iso.datetime() }) }),
});
