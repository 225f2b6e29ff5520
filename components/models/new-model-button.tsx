"use client";

import * as Dialog from "@radix-ui/react-alert-dialog";
import { Plus } from "lucide-react";
import { useState } from "react";
import { apiRequest } from "../api-client";
import { Field } from "../field";

export function NewModelButton() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog.Root open={open} onOpenChange={(next) => { setOpen(next); setError(null); }}>
      <Dialog.Trigger asChild>
        <button type="button" className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800">
          <Plus aria-hidden className="h-4 w-4" /> New model
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 w-[min(32rem,92vw)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-6 shadow-xl">
          <Dialog.Title className="text-lg font-semibold">New model</Dialog.Title>
          <Dialog.Description className="mb-4 mt-1 text-sm text-slate-600">A model groups the versions of one artifact. Upload versions to it next.</Dialog.Description>
          <form
            onSubmit={async (event) => {
              event.preventDefault();
              const form = new FormData(event.currentTarget);
              const text = (key: string) => String(form.get(key) ?? "").trim();
              setBusy(true);
              setError(null);
              const result = await apiRequest<{ model: { name: string } }>("/api/v1/models", {
                method: "POST",
                body: {
                  name: text("name"),
                  ...(text("displayName") ? { displayName: text("displayName") } : {}),
                  description: text("description"),
                  task: text("task") || null,
                  tags: text("tags").split(",").map((t) => t.trim()).filter(Boolean),
                  owner: text("owner") || null,
                },
              });
              setBusy(false);
              if (!result.ok) return setError(result.message);
              window.location.assign(`/models/${result.data.model.name}`);
            }}
          >
            <Field label="Name" name="name" required maxLength={63} pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" placeholder="fraud-detector" hint="Lowercase letters, digits and dashes; used in URLs and commands." />
            <Field label="Display name (optional)" name="displayName" maxLength={120} />
            <Field label="Task (optional)" name="task" maxLength={80} placeholder="classification" />
            <Field label="Tags (optional, comma-separated)" name="tags" placeholder="tabular, finance" />
            <Field label="Owner (optional)" name="owner" maxLength={120} placeholder="risk-team" />
            <label className="mb-4 flex flex-col gap-1 text-sm">
              <span className="font-medium">Description (optional)</span>
              <textarea name="description" maxLength={4000} rows={3} className="rounded-md border border-slate-300 px-3 py-2" />
            </label>
            {error ? <p role="alert" className="mb-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
            <div className="flex justify-end gap-2">
              <Dialog.Cancel className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">Cancel</Dialog.Cancel>
              <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
                {busy ? "Creating…" : "Create model"}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
