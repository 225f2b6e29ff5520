import { PageHeader } from "@/components/page-header";
import { ApiTokens } from "@/components/api-tokens";
import { requirePageActor } from "@/lib/auth/page-actor";
import { listApiTokens } from "@/lib/auth/api-tokens";
import { can, grantableRoles, ROLE_DESCRIPTIONS } from "@/lib/auth/roles";

export const metadata = { title: "Settings" };

export default async function SettingsPage() {
  const { actor } = await requirePageActor();
  const tokens = await listApiTokens({ actor });
  const roles = grantableRoles(actor.role).map((role) => ({ role, description: ROLE_DESCRIPTIONS[role] }));
  return (
    <>
      <PageHeader title="Settings" description={`Signed in as ${actor.label} (${actor.role}).`} />
      <ApiTokens initialTokens={tokens} roles={roles} showOwner={actor.role === "ADMIN"} allowInference={can(actor.role, "inference")} />
    </>
  );
}
