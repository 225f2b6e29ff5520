import { DataTable } from "@/components/data-table";
import { PageHeader } from "@/components/page-header";
import { AddRuntime } from "@/components/deployments/add-runtime";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listRuntimes } from "@/lib/deployments/runtimes";

export const metadata = { title: "Runtimes" };

/** The catalogue of inference servers deployments run in. */
export default async function RuntimesPage() {
  const { actor } = await requirePageActor();
  const runtimes = await listRuntimes();
  const canWrite = actorCan(actor, "fleet.write");
  return (
    <>
      <PageHeader title="Runtimes" description="The inference servers a deployment can run its model in. The built-in ONNX runtime needs no registry; register your own images (Triton, vLLM, …) from your registry." actions={canWrite ? <AddRuntime /> : undefined} />
      <DataTable
        testId="runtimes-table"
        rows={runtimes}
        rowKey={(r) => r.id}
        columns={[
          { header: "Name", cell: (r) => <span className="font-medium">{r.name}{r.builtin ? <span className="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs font-normal text-slate-600">built in</span> : null}</span> },
          { header: "Image", cell: (r) => <span className="font-mono text-xs">{r.image}</span> },
          { header: "Protocol", cell: (r) => r.protocol },
          { header: "Port / readiness", cell: (r) => <span className="font-mono text-xs">{r.containerPort} {r.readinessPath}</span> },
          { header: "Formats", cell: (r) => r.supportedFormats.join(", ") },
          { header: "Registry login", cell: (r) => (r.registryUsername ? `${r.registryUsername}${r.hasRegistryPassword ? " (password stored encrypted)" : ""}` : "—") },
        ]}
      />
      <section className="mt-6 max-w-3xl rounded-lg border border-slate-200 bg-white p-5 text-sm">
        <h2 className="mb-2 font-semibold">From the command line</h2>
        <p className="mb-2 text-slate-600">With an admin token, from any machine that reaches Berth:</p>
        <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100">{`berth runtimes add triton --image registry.internal/tritonserver:24.05-py3 \\
  --port 8000 --readiness-path /v2/health/ready --protocol open_inference_v2 \\
  --format onnx --format tensorflow --model-mount-path /models \\
  --registry-username svc-berth --registry-password-file /run/secrets/registry`}</pre>
        <p className="mt-2 text-slate-600">The password is stored encrypted and handed only to the agents that pull that image.</p>
      </section>
    </>
  );
}
