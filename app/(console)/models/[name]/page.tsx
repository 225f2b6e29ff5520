import Link from "next/link";
import { notFound } from "next/navigation";
import { PageHeader } from "@/components/page-header";
import { formatBytes, formatTime } from "@/components/format";
import { UploadPanel } from "@/components/models/upload-panel";
import { DeleteModelButton } from "@/components/models/version-actions";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { BerthError } from "@/lib/http/errors";
import { getModel } from "@/lib/registry/models";
import { listVersions } from "@/lib/registry/versions";
import { placementsOfVersions } from "@/lib/deployments/deployments";
import { PlacedList } from "@/components/deployments/placed-list";

export const metadata = { title: "Model" };

async function load(name: string) {
  try {
    return { model: await getModel(name), versions: await listVersions(name) };
  } catch (error) {
    if (error instanceof BerthError && error.code === "not_found") notFound();
    throw error;
  }
}

export default async function ModelPage({ params }: { params: Promise<{ name: string }> }) {
  const { actor } = await requirePageActor();
  const { name } = await params;
  const { model, versions } = await load(decodeURIComponent(name));
  const placed = await placementsOfVersions(versions.map((v) => v.id));
  const canWrite = actorCan(actor, "registry.write");
  return (
    <>
      <nav aria-label="Breadcrumb" className="mb-2 text-sm text-slate-500">
        <Link href="/models" className="hover:underline">Models</Link> / {model.name}
      </nav>
      <PageHeader
        title={model.displayName}
        description={model.description || undefined}
        actions={canWrite ? <DeleteModelButton model={model.name} versionCount={model.versionCount} /> : undefined}
      />
      <dl className="mb-6 grid grid-cols-2 gap-x-6 gap-y-2 text-sm md:grid-cols-4">
        <div><dt className="text-slate-500">Name</dt><dd className="font-mono">{model.name}</dd></div>
        <div><dt className="text-slate-500">Task</dt><dd>{model.task ?? "—"}</dd></div>
        <div><dt className="text-slate-500">Owner</dt><dd>{model.owner ?? "—"}</dd></div>
        <div><dt className="text-slate-500">Tags</dt><dd>{model.tags.length ? model.tags.join(", ") : "—"}</dd></div>
      </dl>

      {canWrite ? <div className="mb-6"><UploadPanel model={model.name} /></div> : null}

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading" className="mb-2 text-base font-semibold">Versions</h2>
        {versions.length === 0 ? (
          <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-center text-sm text-slate-600">
            No versions yet. {canWrite ? "Upload one above, or run " : "An operator can upload one with "}
            <code className="font-mono">berth models push {model.name} FILE</code>.
          </p>
        ) : (
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
            <table className="min-w-full text-left text-sm" data-testid="versions-table">
              <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" className="px-3 py-2">Version</th>
                  <th scope="col" className="px-3 py-2">Format</th>
                  <th scope="col" className="px-3 py-2">Size</th>
                  <th scope="col" className="px-3 py-2">SHA-256</th>
                  <th scope="col" className="px-3 py-2">Stage</th>
                  <th scope="col" className="px-3 py-2">Runs on</th>
                  <th scope="col" className="px-3 py-2">Uploaded</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {versions.map((v) => (
                  <tr key={v.id}>
                    <td className="px-3 py-2">
                      <Link href={`/models/${model.name}/versions/${encodeURIComponent(v.label)}`} className="font-mono font-medium text-sky-700 hover:underline">{v.label}</Link>
                    </td>
                    <td className="px-3 py-2">{v.format}</td>
                    <td className="px-3 py-2">{formatBytes(v.sizeBytes)}</td>
                    <td className="px-3 py-2 font-mono text-xs" title={v.sha256}>{v.sha256.slice(0, 12)}…</td>
                    <td className="px-3 py-2">{v.stage}</td>
                    <td className="px-3 py-2"><PlacedList placed={placed.get(v.id) ?? []} /></td>
                    <td className="whitespace-nowrap px-3 py-2 text-xs">{formatTime(v.createdAt)} by {v.uploadedBy}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
