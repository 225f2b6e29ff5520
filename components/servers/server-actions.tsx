"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { ConfirmButton } from "../confirm-button";
import { EnrolmentCommands, type Enrolment } from "./enrolment-commands";

export function ServerActions({ name, adminState, enrolled }: { name: string; adminState: string; enrolled: boolean }) {
  const [error, setError] = useState<string | null>(null);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const base = `/api/v1/servers/${name}`;
  async function act(path: string, body?: unknown) {
    setError(null);
    const result = await apiRequest<Enrolment | { server: unknown }>(`${base}${path}`, { method: "POST", body });
    if (!result.ok) return setError(result.message);
    if ("enrolmentToken" in result.data) setEnrolment(result.data);
    else window.location.reload();
  }
  const button = "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50";
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap gap-2">
        {adminState !== "draining" ? <button type="button" className={button} onClick={() => act("/actions", { action: "drain" })}>Drain</button> : null}
        {adminState !== "disabled" ? <button type="button" className={button} onClick={() => act("/actions", { action: "disable" })}>Disable</button> : null}
        {adminState !== "active" ? <button type="button" className={button} onClick={() => act("/actions", { action: "activate" })}>Activate</button> : null}
        {enrolled ? <button type="button" className={button} onClick={() => act("/rotate-credential")}>Rotate credential</button> : null}
        <button type="button" className={button} onClick={() => act("/enrolment-token", { ttlMinutes: 60 })}>New enrolment token</button>
        <ConfirmButton
          label="Remove server"
          title={`Remove ${name}?`}
          description={<p>The server leaves the fleet and its agent is refused from its next request. To bring the host back, add it again and enrol it with a new token.</p>}
          confirmLabel="Remove server"
          onConfirm={async () => {
            const result = await apiRequest(base, { method: "DELETE" });
            if (!result.ok) return result.message;
            window.location.assign("/servers");
            return null;
          }}
        />
      </div>
      {error ? <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
      {enrolment ? <EnrolmentCommands enrolment={enrolment} /> : null}
    </div>
  );
}
