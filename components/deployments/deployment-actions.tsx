"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { ConfirmButton } from "../confirm-button";

/** Update (rolling), scale, stop/start, roll back and delete, each through the API with the refusal shown. */
export function DeploymentActions(props: { name: string; model: string; version: string; versions: string[]; replicas: number; desiredState: string; previousVersion: string | null }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [target, setTarget] = useState(props.versions.find((v) => v !== props.version) ?? props.version);
  const [replicas, setReplicas] = useState(String(props.replicas));
  const base = `/api/v1/deployments/${props.name}`;
  async function call(what: string, path: string, method: string, body?: unknown) {
    setBusy(what);
    setError(null);
    const result = await apiRequest(`${base}${path}`, { method, body });
    setBusy(null);
    if (!result.ok) return setError(result.message);
    window.location.reload();
  }
  const button = "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-50 disabled:opacity-50";
  const field = "rounded-md border border-slate-300 px-2 py-1.5 text-sm";
  const deleting = props.desiredState === "deleting";
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-2">
        <label className="flex items-center gap-2 text-sm">
          <span className="text-slate-600">Version</span>
          <select className={field} value={target} onChange={(e) => setTarget(e.target.value)} aria-label="Version to roll out">
            {props.versions.map((v) => <option key={v} value={v}>{props.model}@{v}{v === props.version ? " (running)" : ""}</option>)}
          </select>
        </label>
        <button type="button" className={button} disabled={deleting || target === props.version || busy !== null} onClick={() => call("update", "", "PATCH", { model: `${props.model}@${target}` })}>
          {busy === "update" ? "Starting rollout…" : "Roll out"}
        </button>
        <span className="mx-2 h-6 w-px bg-slate-200" aria-hidden />
        <label className="flex items-center gap-2 text-sm">
          <span className="text-slate-600">Replicas</span>
          <input className={`${field} w-16`} inputMode="numeric" value={replicas} onChange={(e) => setReplicas(e.target.value)} aria-label="Replicas" />
        </label>
        <button type="button" className={button} disabled={deleting || busy !== null || replicas === String(props.replicas)} onClick={() => call("scale", "", "PATCH", { replicas: Number(replicas) })}>Scale</button>
        <span className="mx-2 h-6 w-px bg-slate-200" aria-hidden />
        {props.desiredState === "running" ? (
          <button type="button" className={button} disabled={busy !== null} onClick={() => call("stop", "/actions", "POST", { action: "stop" })}>Stop</button>
        ) : (
          <button type="button" className={button} disabled={deleting || busy !== null} onClick={() => call("start", "/actions", "POST", { action: "start" })}>Start</button>
        )}
        <button
          type="button"
          className={button}
          disabled={deleting || !props.previousVersion || busy !== null}
          title={props.previousVersion ? `Back to ${props.model}@${props.previousVersion}` : "No previous version"}
          onClick={() => call("rollback", "/actions", "POST", { action: "rollback" })}
        >
          Roll back{props.previousVersion ? ` to ${props.previousVersion}` : ""}
        </button>
        <ConfirmButton
          label="Delete"
          title={`Delete ${props.name}?`}
          description={<p>Every replica's container is stopped and removed, and the inference endpoint stops answering. The ledger keeps the record of what ran.</p>}
          confirmLabel="Delete deployment"
          disabled={deleting}
          onConfirm={async () => {
            const result = await apiRequest(base, { method: "DELETE" });
            if (!result.ok) return result.message;
            window.location.assign("/deployments");
            return null;
          }}
        />
      </div>
      {error ? <p role="alert" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
    </div>
  );
}
