import Link from "next/link";
import { notFound } from "next/navigation";
import { Download } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { DeleteVersionButton, StageSelect } from "@/components/models/version-actions";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { BerthError } from "@/lib/http/errors";
import { getVersion } from "@/lib/registry/versions";
import type { OnnxTensorSignature } from "@/lib/registry/onnx-signature";
import { placementsOfVersions } from "@/lib/deployments/deployments";
import { listLedger } from "@/lib/deployments/ledger";
import { PlacedList } from "@/components/deployments/placed-list";
import { DataTable } from "@/components/data-table";

export const metadata = { title: "Model version" };

function TensorTable({ caption, tensors, testId }: { caption: string; tensors: OnnxTensorSignature[]; testId: string }) {
  return (
    <table className="min-w-full text-left text-sm" data-testid={testId}>
      <caption className="mb-1 text-left text-sm font-semibold">{caption}</caption>
      <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
        <tr><th scope="col" className="px-3 py-2">Name</th><th scope="col" className="px-3 py-2">Type</th><th scope="col" className="px-3 py-2">Shape</th></tr>
      </thead>
      <tbody className="divide-y divide-slate-100">
        {tensors.map((t) => (
          <tr key={t.name}>
            <td className="px-3 py-2 font-mono">{t.name}</td>
            <td className="px-3 py-2 font-mono">{t.type}</td>
            <td className="px-3 py-2 font-mono">{t.shape ? `[${t.shape.map((d) => d ?? "?").join(", ")}]` : "unknown"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default async function VersionPage({ params }: { params: Promise<{ name: string; version: string }> }) {
  const { actor } = await requirePageActor();
  const { name, version: label } = await params;
  let version;
  try {
    version = await getVersion(decodeURIComponent(name), decodeURIComponent(label));
  } catch (error) {
    if (error instanceof BerthError && error.code === "not_found") notFound();
    throw error;
  }
  const canWrite = actorCan(actor, "registry.write");
  const [placed, ledger] = await Promise.all([placementsOfVersions([version.id]), listLedger({ modelVersionId: version.id, limit: 100 })]);
  const artifactUrl = `/api/v1/models/${version.model}/versions/${encodeURIComponent(version.label)}/artifact`;
  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-500">
        <Link href="/models" className="hover:underline">Models</Link> / <Link href={`/models/${version.model}`} className="hover:underline">{version.model}</Link> / {version.label}
      </nav>
      <PageHeader
        title={`${version.model} · version ${version.label}`}
        actions={
          <>
            <a href={artifactUrl} download className="inline-flex items-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
              <Download aria-hidden className="h-4 w-4" /> Download
            </a>
            {canWrite ? <DeleteVersionButton model={version.model} version={version.label} /> : null}
          </>
        }
      />
      <dl className="mb-6 grid grid-cols-1 gap-x-6 gap-y-3 rounded-lg border border-slate-200 bg-white p-5 text-sm md:grid-cols-3">
        <div><dt className="text-slate-500">Format</dt><dd>{version.format}</dd></div>
        <div><dt className="text-slate-500">Size</dt><dd>{formatBytes(version.sizeBytes)} ({version.sizeBytes.toLocaleString("en")} bytes)</dd></div>
        <div><dt className="text-slate-500">Stage</dt><dd><StageSelect model={version.model} version={version.label} stage={version.stage} canWrite={canWrite} /></dd></div>
        <div className="md:col-span-3"><dt className="text-slate-500">SHA-256</dt><dd className="break-all font-mono text-xs" data-testid="version-sha256">{version.sha256}</dd></div>
        <div><dt className="text-slate-500">File name</dt><dd className="font-mono text-xs">{version.fileName ?? "—"}</dd></div>
        <div><dt className="text-slate-500">Uploaded</dt><dd>{formatTime(version.createdAt)} UTC by {version.uploadedBy}</dd></div>
        <div><dt className="text-slate-500">Runs on</dt><dd data-testid="version-runs-on"><PlacedList placed={placed.get(version.id) ?? []} /></dd></div>
      </dl>

      {version.signature ? (
        <section aria-labelledby="signature-heading" className="mb-6 rounded-lg border border-slate-200 bg-white p-5">
          <h2 id="signature-heading" className="text-base font-semibold">ONNX signature</h2>
          <p className="mb-3 text-sm text-slate-600">
            Read from the model graph on upload. IR version {version.signature.irVersion ?? "?"}
            {version.signature.opsets.length ? `, opset ${version.signature.opsets.map((o) => `${o.domain || "ai.onnx"} ${o.version}`).join(", ")}` : ""}
            {version.signature.producer ? `, produced by ${version.signature.producer}` : ""}.
          </p>
          <div className="grid gap-6 md:grid-cols-2">
            <TensorTable caption="Inputs" tensors={version.signature.inputs} testId="onnx-inputs" />
            <TensorTable caption="Outputs" tensors={version.signature.outputs} testId="onnx-outputs" />
          </div>
        </section>
      ) : null}

      <section aria-labelledby="ledger-heading" className="mb-6">
        <div className="mb-2 flex items-baseline justify-between">
          <h2 id="ledger-heading" className="text-base font-semibold">Where and when it ran</h2>
          <a className="text-sm text-sky-700 hover:underline" href={`/api/v1/models/${version.model}/versions/${encodeURIComponent(version.label)}/ledger?format=csv&limit=1000`}>Export CSV</a>
        </div>
        {ledger.length === 0 ? (
          <p className="rounded-lg border border-slate-200 bg-white p-5 text-sm text-slate-600">This version has not run in any container yet.</p>
        ) : (
          <DataTable
            testId="version-ledger"
            rows={ledger}
            rowKey={(e) => e.id}
            columns={[
              { header: "Deployment", cell: (e) => e.deployment },
              { header: "Server", cell: (e) => e.server },
              { header: "Container", cell: (e) => <span className="font-mono text-xs">{e.containerId.slice(0, 12)}</span> },
              { header: "From (UTC)", cell: (e) => <span className="text-xs">{formatTime(e.startedAt)}</span> },
              { header: "To (UTC)", cell: (e) => <span className="text-xs">{e.stoppedAt ? formatTime(e.stoppedAt) : "running"}</span> },
              { header: "Started by", cell: (e) => <span className="text-xs">{e.startedBy}</span> },
              { header: "Stopped", cell: (e) => <span className="text-xs">{e.stoppedBy ? `${e.stoppedBy}: ${e.stopReason ?? ""}` : ""}</span> },
            ]}
          />
        )}
      </section>

      <section aria-labelledby="metadata-heading" className="rounded-lg border border-slate-200 bg-white p-5">
        <h2 id="metadata-heading" className="mb-2 text-base font-semibold">Metadata</h2>
        {Object.keys(version.metadata).length === 0 ? (
          <p className="text-sm text-slate-600">None. Attach key-value metadata on upload (<code className="font-mono">--metadata key=value</code>).</p>
        ) : (
          <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 text-sm">
            {Object.entries(version.metadata).map(([key, value]) => (
              <div key={key} className="contents"><dt className="font-mono text-slate-500">{key}</dt><dd className="font-mono">{String(value)}</dd></div>
            ))}
          </dl>
        )}
      </section>
    </>
  );
}
