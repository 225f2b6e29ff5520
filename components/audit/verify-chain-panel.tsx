"use client";

import { useState } from "react";
import Link from "next/link";
import { ShieldCheck, ShieldX, LoaderCircle } from "lucide-react";
import { apiRequest } from "@/components/api-client";

type Verification =
  | { ok: true; checked: number; durationMs: number; headSeq: string | null; headHash: string }
  | { ok: false; checked: number; durationMs: number; seq: string; problem: string; message: string };

export type LastVerification = { at: string; by: string; ok: boolean; summary: string } | null;

/** The chain's status: the last verification on record, and a button to walk the chain now. */
export function VerifyChainPanel(props: { last: LastVerification }) {
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function verify() {
    setRunning(true);
    setError(null);
    const response = await apiRequest<Verification>("/api/v1/audit/verification");
    setRunning(false);
    if (response.ok) setResult(response.data);
    else setError(response.message);
  }

  const shown = result
    ? { ok: result.ok, text: result.ok ? `Intact: ${result.checked.toLocaleString("en")} events checked in ${(result.durationMs / 1000).toFixed(1)} s` : result.message }
    : props.last
      ? { ok: props.last.ok, text: `${props.last.ok ? "Intact" : "Broken"} when last verified ${props.last.at.replace("T", " ").slice(0, 19)} UTC by ${props.last.by}: ${props.last.summary}` }
      : null;

  return (
    <section aria-label="Chain verification" data-testid="chain-status" className="mb-4 flex flex-wrap items-center gap-3 rounded-lg border border-slate-200 bg-white px-4 py-3 text-sm">
      {shown ? (
        shown.ok ? <ShieldCheck aria-hidden className="size-5 text-emerald-600" /> : <ShieldX aria-hidden className="size-5 text-rose-600" />
      ) : (
        <ShieldCheck aria-hidden className="size-5 text-slate-400" />
      )}
      <p className={shown ? (shown.ok ? "text-emerald-800" : "font-medium text-rose-700") : "text-slate-600"} role={result && !result.ok ? "alert" : undefined}>
        {shown ? shown.text : "The chain has not been verified yet."}
        {result && !result.ok ? (
          <>
            {" "}
            <Link className="underline" href={`/audit/${result.seq}`}>Open event {result.seq}</Link>
          </>
        ) : null}
      </p>
      {error ? <p role="alert" className="text-rose-700">{error}</p> : null}
      <button
        type="button"
        onClick={verify}
        disabled={running}
        className="ml-auto inline-flex items-center gap-2 rounded-md border border-slate-300 bg-white px-3 py-1.5 font-medium hover:bg-slate-50 disabled:opacity-60"
      >
        {running ? <LoaderCircle aria-hidden className="size-4 animate-spin" /> : null}
        {running ? "Verifying…" : "Verify chain now"}
      </button>
    </section>
  );
}
