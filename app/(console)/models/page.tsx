import Link from "next/link";
import { Boxes, Search } from "lucide-react";
import { EmptyState } from "@/components/empty-state";
import { PageHeader } from "@/components/page-header";
import { formatTime } from "@/components/format";
import { NewModelButton } from "@/components/models/new-model-button";
import { actorCan, requirePageActor } from "@/lib/auth/page-actor";
import { listModels } from "@/lib/registry/models";

export const metadata = { title: "Models" };

export default async function ModelsPage({ searchParams }: { searchParams: Promise<{ q?: string; after?: string }> }) {
  const { actor } = await requirePageActor();
  const { q, after } = await searchParams;
  const search = q?.slice(0, 200);
  const { models, nextAfter } = await listModels({ search, limit: 50, after: after?.slice(0, 63) });
  const canWrite = actorCan(actor, "registry.write");
  return (
    <>
      <PageHeader
        title="Models"
        description="The versioned registry of model artifacts: every version with its digest, format, stage and where it runs."
        actions={canWrite ? <NewModelButton /> : undefined}
      />
      <form className="mb-4 flex max-w-md items-center gap-2" role="search">
        <label className="relative flex-1">
          <span className="sr-only">Search models</span>
          <Search aria-hidden className="pointer-events-none absolute left-2.5 top-2.5 h-4 w-4 text-slate-400" />
          <input name="q" defaultValue={search} placeholder="Search name, description, task or tag" className="w-full rounded-md border border-slate-300 py-2 pl-8 pr-3 text-sm" />
        </label>
        <button type="submit" className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">Search</button>
      </form>
      {models.length === 0 ? (
        search ? (
          <EmptyState icon={Search} title={`No models match “${search}”`}>
            <p><Link href="/models" className="text-sky-700 hover:underline">Show all models</Link></p>
          </EmptyState>
        ) : (
          <EmptyState icon={Boxes} title="No models yet">
            <p>Create a model, then upload its versions from the browser or with <code className="font-mono">berth models push MODEL FILE</code>.</p>
            <p>Each version is stored once by its SHA-256 digest and verified again by every server before use.</p>
          </EmptyState>
        )
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="min-w-full text-left text-sm" data-testid="models-table">
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="px-3 py-2">Model</th>
                <th scope="col" className="px-3 py-2">Task</th>
                <th scope="col" className="px-3 py-2">Tags</th>
                <th scope="col" className="px-3 py-2">Versions</th>
                <th scope="col" className="px-3 py-2">Latest</th>
                <th scope="col" className="px-3 py-2">Updated (UTC)</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {models.map((model) => (
                <tr key={model.id}>
                  <td className="px-3 py-2">
                    <Link href={`/models/${model.name}`} className="font-medium text-sky-700 hover:underline">{model.name}</Link>
                    {model.displayName !== model.name ? <span className="block text-xs text-slate-500">{model.displayName}</span> : null}
                  </td>
                  <td className="px-3 py-2">{model.task ?? "—"}</td>
                  <td className="px-3 py-2">
                    <span className="flex flex-wrap gap-1">
                      {model.tags.map((tag) => <span key={tag} className="rounded bg-slate-100 px-1.5 py-0.5 text-xs">{tag}</span>)}
                    </span>
                  </td>
                  <td className="px-3 py-2">{model.versionCount}</td>
                  <td className="px-3 py-2 font-mono text-xs">{model.latestVersion ?? "—"}</td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{formatTime(model.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextAfter ? (
        <Link href={`/models?${new URLSearchParams({ ...(search ? { q: search } : {}), after: nextAfter })}`} className="mt-4 inline-block rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm">
          More models →
        </Link>
      ) : null}
    </>
  );
}
