import { redirect } from "next/navigation";
import { PageHeader } from "@/components/page-header";
import { DeploymentWizard } from "@/components/deployments/deployment-wizard";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { versionChoices } from "@/lib/registry/versions";
import { listRuntimes } from "@/lib/deployments/runtimes";
import { serverChoices } from "@/lib/deployments/placement";

export const metadata = { title: "New deployment" };

export default async function NewDeploymentPage() {
  const { actor } = await requirePageActor();
  if (!actorCan(actor, "deployments.write")) redirect("/deployments");
  const [models, runtimes, servers] = await Promise.all([versionChoices(), listRuntimes(), serverChoices()]);
  return (
    <>
      <PageHeader title="New deployment" description="Run a model version from the registry on your servers. Berth's agents start the containers and report when they are ready." />
      <DeploymentWizard
        models={models}
        runtimes={runtimes.map((r) => ({ name: r.name, image: r.image, supportedFormats: r.supportedFormats, builtin: r.builtin }))}
        servers={servers}
      />
    </>
  );
}
