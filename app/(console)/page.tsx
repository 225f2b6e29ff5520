import Link from "next/link";
import { Boxes, Rocket, Server } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { requirePageActor } from "@/lib/auth/page-actor";

export const metadata = { title: "Overview" };

const STEPS = [
  { icon: Boxes, title: "1. Register a model", body: "Upload a model artifact into the versioned registry.", href: "/models", cta: "Go to Models" },
  { icon: Server, title: "2. Enrol a server", body: "Add one of your servers and run the Berth agent on it.", href: "/servers", cta: "Go to Servers" },
  { icon: Rocket, title: "3. Deploy", body: "Assign a model version to servers and watch it come up.", href: "/deployments", cta: "Go to Deployments" },
];

export default async function OverviewPage() {
  await requirePageActor();
  return (
    <>
      <PageHeader title="Overview" description="Fleet health, deployments and recent activity appear here once there is something to show." />
      <section aria-labelledby="getting-started">
        <h2 id="getting-started" className="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-500">
          Getting started
        </h2>
        <ol className="grid gap-4 md:grid-cols-3">
          {STEPS.map(({ icon: Icon, title, body, href, cta }) => (
            <li key={href} className="flex flex-col rounded-lg border border-slate-200 bg-white p-5">
              <Icon aria-hidden className="h-6 w-6 text-sky-600" />
              <h3 className="mt-3 font-semibold">{title}</h3>
              <p className="mt-1 flex-1 text-sm text-slate-600">{body}</p>
              <Link href={href} className="mt-4 text-sm font-medium text-sky-700 hover:underline">
                {cta} →
              </Link>
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
