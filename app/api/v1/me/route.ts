import { handle } from "@/lib/http/api";
import { can, PERMISSIONS } from "@/lib/auth/roles";
import { whoAmI } from "./schemas";

export const GET = handle(whoAmI, async ({ actor }) => ({
  kind: actor.kind,
  id: actor.id,
  label: actor.label,
  role: actor.role,
  permissions: PERMISSIONS.filter((p) => can(actor.role, p)),
}));
