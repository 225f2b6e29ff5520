"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { ConfirmButton } from "../confirm-button";

/** Send a test (`ping`) delivery, switch the webhook on or off, or delete it. */
export function WebhookActions({ name, enabled }: { name: string; enabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const call = async (path: string, init: { method: string; body?: unknown }, done: string) => {
    setBusy(true);
    setMessage(null);
    const result = await apiRequest(path, init);
    setBusy(false);
    if (!result.ok) {
      setMessage(result.message);
      return;
    }
    setMessage(done);
    window.location.reload();
  };
  const button = "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-50";
  return (
    <div className="flex flex-wrap items-center gap-2">
      <button type="button" className={button} disabled={busy} onClick={() => call(`/api/v1/webhooks/${name}/test`, { method: "POST" }, "Test delivery queued")}>
        Send test
      </button>
      <button type="button" className={button} disabled={busy} onClick={() => call(`/api/v1/webhooks/${name}`, { method: "PATCH", body: { enabled: !enabled } }, enabled ? "Disabled" : "Enabled")}>
        {enabled ? "Disable" : "Enable"}
      </button>
      <ConfirmButton
        label="Delete"
        title={`Delete webhook “${name}”?`}
        description={<p>Berth stops sending to it at once; its delivery log and any deliveries still pending are deleted with it.</p>}
        confirmLabel="Delete webhook"
        onConfirm={async () => {
          const result = await apiRequest(`/api/v1/webhooks/${name}`, { method: "DELETE" });
          if (!result.ok) return result.message;
          window.location.assign("/webhooks");
          return null;
        }}
      />
      {message ? <span role="status" className="text-sm text-slate-600">{message}</span> : null}
    </div>
  );
}
