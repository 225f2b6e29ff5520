import { Anchor } from "lucide-react";
import { NavLinks } from "@/components/nav-links";
import { SignOutButton } from "@/components/sign-out-button";
import { requirePageActor } from "@/lib/auth/page-actor";

export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const { actor } = await requirePageActor();
  return (
    <div className="flex min-h-screen">
      <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col bg-slate-900 px-3 py-4">
        <div className="mb-6 flex items-center gap-2 px-3 text-white">
          <Anchor aria-hidden className="h-5 w-5 text-sky-400" />
          <span className="text-lg font-semibold tracking-tight">Berth</span>
        </div>
        <NavLinks />
        <div className="mt-auto border-t border-slate-800 px-3 pt-3">
          <p className="truncate text-sm text-white" data-testid="current-user" title={actor.label}>
            {actor.label}
          </p>
          <p className="mb-2 text-xs uppercase tracking-wide text-slate-400">{actor.role}</p>
          <SignOutButton />
        </div>
      </aside>
      <main className="min-w-0 flex-1 px-8 py-6">
        <div className="mx-auto max-w-6xl">{children}</div>
      </main>
    </div>
  );
}
