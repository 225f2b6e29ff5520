import type { Role } from "@prisma/client";

/**
 * What each role may do. AUDITOR reads everything and the audit log, and
 * changes nothing; VIEWER reads everything but the audit log.
 */
export const PERMISSIONS = [
  "read",
  "audit.read",
  // Deleting old audit events (retention) is the administrator's alone, never the auditor's: the auditor reads, and changes nothing.
  "audit.purge",
  "registry.write",
  "deployments.write",
  "fleet.write",
  "users.manage",
  // Outgoing notifications: where Berth sends word of failures, and the secrets that sign them.
  "webhooks.manage",
  "tokens.own",
  // Call the inference gateway from a signed-in session (the deployment page's "Try it"); tokens need canInfer instead.
  "inference",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ["ADMIN", "OPERATOR", "VIEWER", "AUDITOR"] as const satisfies readonly Role[];

const GRANTS: Record<Role, readonly Permission[]> = {
  ADMIN: PERMISSIONS,
  OPERATOR: ["read", "registry.write", "deployments.write", "tokens.own", "inference"],
  VIEWER: ["read", "tokens.own"],
  AUDITOR: ["read", "audit.read", "tokens.own"],
};

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  ADMIN: "Everything, including servers, users and settings",
  OPERATOR: "Upload models and run deployments",
  VIEWER: "Read-only access to models, servers and deployments",
  AUDITOR: "Read-only access plus the audit log and its exports",
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** A role may hand out (to a token) only roles whose every permission it holds itself. */
export function canGrantRole(granter: Role, granted: Role): boolean {
  return GRANTS[granted].every((permission) => can(granter, permission));
}

export function grantableRoles(granter: Role): Role[] {
  return ROLES.filter((role) => canGrantRole(granter, role));
}
