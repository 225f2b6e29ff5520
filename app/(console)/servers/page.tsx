import { Server } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { requirePageActor } from "@/lib/auth/page-actor";

export const metadata = { title: "Servers" };

export default async function ServersPage() {
  await requirePageActor();
  return (
    <>
      <PageHeader title="Servers" description="Your organisation's servers that run inference containers, each with the Berth agent." />
      <EmptyState icon={Server} title="No servers enrolled">
        <p>Enrolled servers appear here with their state, capacity, labels and agent version. The agent on each server connects out to Berth; no inbound port is needed on the server.</p>
      </EmptyState>
    </>
  );
}
