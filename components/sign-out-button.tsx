"use client";

import { signOut } from "next-auth/react";
import { LogOut } from "lucide-react";
import { useState } from "react";

export function SignOutButton() {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        await signOut({ redirect: false });
        window.location.assign("/login");
      }}
      className="flex items-center gap-1.5 rounded-md px-2 py-1 text-sm text-slate-300 hover:bg-slate-800 hover:text-white disabled:opacity-50"
    >
      <LogOut aria-hidden className="h-4 w-4" />
      {busy ? "Signing out…" : "Sign out"}
    </button>
  );
}
