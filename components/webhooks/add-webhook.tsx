"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { CopyButton } from "../copy-button";
import { Field } from "../field";
import { FormDialog } from "../form-dialog";

export const EVENT_LABELS: Record<string, string> = {
  "replica.failed": "A replica failed",
  "server.offline": "A server went offline",
  "deployment.finished": "A deployment finished rolling out",
  "audit.verification_failed": "Audit log verification failed",
};

/** Adds a webhook; its signing secret is shown here once, with a copy button, and never again. */
export function AddWebhook() {
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  return (
    <FormDialog
      trigger="Add webhook"
      title="Add a webhook"
      description="Berth POSTs a signed JSON body to this URL when a chosen event happens, and retries with back-off until it answers 2xx."
      submitLabel="Add webhook"
      busyLabel="Adding…"
      onClose={() => {
        if (created) window.location.reload();
      }}
      result={
        created ? (
          <div role="status" className="rounded-lg border border-emerald-300 bg-emerald-50 p-4" data-testid="new-webhook">
            <p className="text-sm font-medium text-emerald-900">
              Webhook “{created.name}” added. Copy its signing secret now and give it to the receiver: Berth will not show it again.
            </p>
            <div className="mt-2 flex items-center gap-2">
              <code className="block flex-1 break-all rounded bg-white px-2 py-1.5 font-mono text-sm" data-testid="new-webhook-secret">
                {created.secret}
              </code>
              <CopyButton text={created.secret} />
            </div>
          </div>
        ) : undefined
      }
      onSubmit={async (form) => {
        const text = (name: string) => String(form.get(name) ?? "").trim();
        const events = Object.keys(EVENT_LABELS).filter((e) => form.get(`event-${e}`) === "on");
        if (events.length === 0) return "Tick at least one event";
        const result = await apiRequest<{ webhook: { name: string }; secret: string }>("/api/v1/webhooks", {
          method: "POST",
          body: { name: text("name"), url: text("url"), events },
        });
        if (!result.ok) return result.message;
        setCreated({ name: result.data.webhook.name, secret: result.data.secret });
        return null;
      }}
    >
      <Field label="Name" name="name" required maxLength={63} placeholder="on-call" hint="Lowercase letters, digits and dashes." />
      <Field label="URL" name="url" type="url" required placeholder="https://alerts.internal/berth" hint="http:// or https://; Berth sends from the control plane's hosts." />
      <fieldset className="mb-4 text-sm">
        <legend className="mb-1 font-medium">Events</legend>
        <div className="grid gap-1.5">
          {Object.entries(EVENT_LABELS).map(([event, label]) => (
            <label key={event} className="flex items-center gap-2">
              <input type="checkbox" name={`event-${event}`} defaultChecked={event !== "deployment.finished"} />
              {label} <code className="font-mono text-xs text-slate-500">{event}</code>
            </label>
          ))}
        </div>
      </fieldset>
    </FormDialog>
  );
}
