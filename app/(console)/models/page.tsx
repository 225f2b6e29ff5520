import { Boxes } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { requirePageActor } from "@/lib/auth/page-actor";

export const metadata = { title: "Models" };

export default async function ModelsPage() {
  await requirePageActor();
  return (
    <>
      <PageHeader title="Models" description="The versioned registry of model artifacts: every version with its digest, format, stage and where it runs." />
      <EmptyState icon={Boxes} title="No models yet">
        <p>Models you register appear here with their versions. Each version is stored once by its SHA-256 digest and verified again by every server before use.</p>
      </EmptyState>
    </>
  );
}
