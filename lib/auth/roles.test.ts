import { describe, expect, it } from "vitest";
import { can, canGrantRole, grantableRoles } from "./roles";

describe("roles", () => {
  it("gives the audit log to ADMIN and AUDITOR only", () => {
    expect(["ADMIN", "OPERATOR", "VIEWER", "AUDITOR"].filter((r) => can(r as never, "audit.read"))).toEqual(["ADMIN", "AUDITOR"]);
  });

  it("lets ADMIN and OPERATOR sessions call the inference gateway", () => {
    expect(["ADMIN", "OPERATOR", "VIEWER", "AUDITOR"].filter((r) => can(r as never, "inference"))).toEqual(["ADMIN", "OPERATOR"]);
  });

  it("lets AUDITOR and VIEWER change nothing", () => {
    for (const role of ["AUDITOR", "VIEWER"] as const) {
      for (const write of ["registry.write", "deployments.write", "fleet.write", "users.manage"] as const) expect(can(role, write)).toBe(false);
    }
  });

  it("never lets a role grant a token more than it has", () => {
    expect(grantableRoles("ADMIN")).toEqual(["ADMIN", "OPERATOR", "VIEWER", "AUDITOR"]);
    expect(grantableRoles("OPERATOR")).toEqual(["OPERATOR", "VIEWER"]);
    expect(grantableRoles("VIEWER")).toEqual(["VIEWER"]);
    expect(grantableRoles("AUDITOR")).toEqual(["VIEWER", "AUDITOR"]);
    expect(canGrantRole("OPERATOR", "ADMIN")).toBe(false);
    expect(canGrantRole("AUDITOR", "OPERATOR")).toBe(false);
  });
});
