"use client";

import { apiRequest } from "../api-client";
import { Field } from "../field";
import { FormDialog } from "../form-dialog";

export function NewModelButton() {
  return (
    <FormDialog
      trigger="New model"
      title="New model"
      description="A model groups the versions of one artifact. Upload versions to it next."
      submitLabel="Create model"
      busyLabel="Creating…"
      onSubmit={async (form) => {
        const text = (key: string) => String(form.get(key) ?? "").trim();
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
        if (!result.ok) return result.message;
        window.location.assign(`/models/${result.data.model.name}`);
        return null;
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
    </FormDialog>
  );
}
