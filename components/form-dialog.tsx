"use client";

import * as Dialog from "@radix-ui/react-alert-dialog";
import { Plus } from "lucide-react";
import { useState } from "react";

/**
 * The console's one "open a dialog, fill a form, send it" shell. `onSubmit`
 * returns the server's refusal to show, or null when it went through (the
 * caller then navigates, reloads, or sets `result`). With `result`, the
 * dialog shows it in place of the form, with a Done button.
 */
export function FormDialog(props: {
  trigger: string;
  title: string;
  description: React.ReactNode;
  submitLabel: string;
  busyLabel: string;
  onSubmit: (form: FormData) => Promise<string | null>;
  children: React.ReactNode;
  result?: React.ReactNode;
  onClose?: () => void;
  wide?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        setError(null);
        if (!next) props.onClose?.();
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800">
          <Plus aria-hidden className="h-4 w-4" /> {props.trigger}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className={`fixed left-1/2 top-1/2 max-h-[90vh] ${props.wide ? "w-[min(46rem,94vw)]" : "w-[min(36rem,92vw)]"} -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-6 shadow-xl`}>
          <Dialog.Title className="text-lg font-semibold">{props.title}</Dialog.Title>
          <Dialog.Description className="mb-4 mt-1 text-sm text-slate-600">{props.description}</Dialog.Description>
          {props.result ? (
            <>
              {props.result}
              <div className="mt-4 flex justify-end">
                <Dialog.Cancel className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white">Done</Dialog.Cancel>
              </div>
            </>
          ) : (
            <form
              onSubmit={async (event) => {
                event.preventDefault();
                setBusy(true);
                setError(null);
                const refusal = await props.onSubmit(new FormData(event.currentTarget));
                setBusy(false);
                setError(refusal);
              }}
            >
              {props.children}
              {error ? <p role="alert" className="mb-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
              <div className="flex justify-end gap-2">
                <Dialog.Cancel className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">Cancel</Dialog.Cancel>
                <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
                  {busy ? props.busyLabel : props.submitLabel}
                </button>
              </div>
            </form>
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
