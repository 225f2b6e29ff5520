import { Rocket } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { requirePageActor } from "@/lib/auth/page-actor";

export const metadata = { title: "Deployments" };

export default async function DeploymentsPage() {
  await requirePageActor();
  return (
    <>
      <PageHeader title="Deployments" description="Model versions assigned to servers, their replicas, health and traffic." />
      <EmptyState icon={Rocket} title="No deployments">
        <p>A deployment runs a model version on one or more servers. It needs a model in the registry and at least one enrolled server.</p>
      </EmptyState>
    </>
  );
}
