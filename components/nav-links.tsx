"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import clsx from "clsx";
import { Activity, BellRing, Boxes, Container, FileClock, LayoutDashboard, Rocket, Server, Settings } from "lucide-react";

const LINKS = [
  { href: "/", label: "Overview", icon: LayoutDashboard },
  { href: "/models", label: "Models", icon: Boxes },
  { href: "/servers", label: "Servers", icon: Server },
  { href: "/deployments", label: "Deployments", icon: Rocket },
  { href: "/inference-log", label: "Inference log", icon: Activity },
  { href: "/runtimes", label: "Runtimes", icon: Container },
  { href: "/audit", label: "Audit", icon: FileClock },
  { href: "/webhooks", label: "Webhooks", icon: BellRing },
  { href: "/settings", label: "Settings", icon: Settings },
];

export function NavLinks() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main" className="flex flex-col gap-0.5">
      {LINKS.map(({ href, label, icon: Icon }) => {
        const active = href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
        return (
          <Link
            key={href}
            href={href}
            aria-current={active ? "page" : undefined}
            className={clsx(
              "flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium transition-colors",
              active ? "bg-slate-800 text-white" : "text-slate-300 hover:bg-slate-800/60 hover:text-white",
            )}
          >
            <Icon aria-hidden className="h-4 w-4" />
            {label}
          </Link>
        );
      })}
    </nav>
  );
}
