import { z } from "zod";
import { defineApi } from "@/lib/http/api";
import { PERMISSIONS, ROLES } from "@/lib/auth/roles";

export const whoAmI = defineApi({
  method: "get",
  path: "/api/v1/me",
  tag: "Identity",
  summary: "Who the caller is: a signed-in user or an API token, its role and permissions",
  permission: "read",
  response: z.object({
    kind: z.enum(["USER", "API_TOKEN"]),
    id: z.string(),
    label: z.string(),
    role: z.enum(ROLES),
    permissions: z.array(z.enum(PERMISSIONS)),
  }),
});
