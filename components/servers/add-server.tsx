"use client";

import * as Dialog from "@radix-ui/react-alert-dialog";
import { Plus } from "lucide-react";
import { useState } from "react";
import { apiRequest } from "../api-client";
import { Field } from "../field";
import { EnrolmentCommands, type Enrolment } from "./enrolment-commands";

function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const index = part.indexOf("=");
    if (index <= 0) return `“${part}” is not key=value`;
    labels[part.slice(0, index)] = part.slice(index + 1);
  }
  return labels;
}

export function AddServer() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        setError(null);
        if (!next && enrolment) window.location.reload();
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800">
          <Plus aria-hidden className="h-4 w-4" /> Add server
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 max-h-[90vh] w-[min(46rem,94vw)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-6 shadow-xl">
          <Dialog.Title className="text-lg font-semibold">Add a server</Dialog.Title>
          <Dialog.Description className="mb-4 mt-1 text-sm text-slate-600">
            Berth issues a one-time enrolment token. The agent on the host trades it for its own credential and from then on connects out to Berth; the host needs no open port.
          </Dialog.Description>
          {enrolment ? (
            <>
              <EnrolmentCommands enrolment={enrolment} />
              <div className="mt-4 flex justify-end">
                <Dialog.Cancel className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white">Done</Dialog.Cancel>
              </div>
            </>
          ) : (
            <form
              onSubmit={async (event) => {
                event.preventDefault();
                const form = new FormData(event.currentTarget);
                const labels = parseLabels(String(form.get("labels") ?? ""));
                if (typeof labels === "string") return setError(`Labels: ${labels}`);
                setBusy(true);
                setError(null);
                const result = await apiRequest<Enrolment>("/api/v1/servers", {
                  method: "POST",
                  body: { name: String(form.get("name") ?? "").trim(), labels, enrolmentTtlMinutes: Number(form.get("ttl") ?? 60) },
                });
                setBusy(false);
                if (!result.ok) return setError(result.message);
                setEnrolment(result.data);
              }}
            >
              <Field label="Name" name="name" required maxLength={63} placeholder="gpu-node-01" hint="Lowercase letters, digits and dashes." />
              <Field label="Labels (optional)" name="labels" placeholder="gpu=a100 zone=dc1" hint="key=value pairs, separated by spaces or commas; deployments select servers by them." />
              <Field label="Token valid for (minutes)" name="ttl" type="number" min={5} max={10080} defaultValue={60} />
              {error ? <p role="alert" className="mb-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
              <div className="flex justify-end gap-2">
                <Dialog.Cancel className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">Cancel</Dialog.Cancel>
                <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
                  {busy ? "Adding…" : "Add server"}
                </button>
              </div>
            </form>
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
