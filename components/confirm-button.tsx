"use client";

import * as AlertDialog from "@radix-ui/react-alert-dialog";
import { useState } from "react";

/** A destructive action that asks first, and shows the server's refusal if there is one. */
export function ConfirmButton(props: {
  label: string;
  title: string;
  description: React.ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<string | null>;
  disabled?: boolean;
  disabledReason?: string;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <AlertDialog.Root open={open} onOpenChange={(next) => { setOpen(next); setError(null); }}>
      <AlertDialog.Trigger asChild>
        <button
          type="button"
          disabled={props.disabled}
          title={props.disabled ? props.disabledReason : undefined}
          className="rounded-md border border-rose-300 bg-white px-3 py-1.5 text-sm font-medium text-rose-700 hover:bg-rose-50 disabled:cursor-not-allowed disabled:opacity-50"
        >
          {props.label}
        </button>
      </AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <AlertDialog.Content className="fixed left-1/2 top-1/2 w-[min(30rem,90vw)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-6 shadow-xl">
          <AlertDialog.Title className="text-lg font-semibold">{props.title}</AlertDialog.Title>
          <AlertDialog.Description asChild>
            <div className="mt-2 text-sm text-slate-600">{props.description}</div>
          </AlertDialog.Description>
          {error ? <p className="mt-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700" role="alert">{error}</p> : null}
          <div className="mt-5 flex justify-end gap-2">
            <AlertDialog.Cancel className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">Cancel</AlertDialog.Cancel>
            <button
              type="button"
              disabled={busy}
              className="rounded-md bg-rose-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-rose-700 disabled:opacity-50"
              onClick={async () => {
                setBusy(true);
                const failure = await props.onConfirm();
                setBusy(false);
                if (failure) setError(failure);
                else setOpen(false);
              }}
            >
              {busy ? "Working…" : props.confirmLabel}
            </button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}
