"use client";

import { useState } from "react";
import { apiRequest } from "../api-client";
import { ConfirmButton } from "../confirm-button";

const STAGES = ["none", "staging", "production", "archived"] as const;

export function StageSelect({ model, version, stage, canWrite }: { model: string; version: string; stage: string; canWrite: boolean }) {
  const [value, setValue] = useState(stage);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="flex items-center gap-2">
      <select
        aria-label="Stage"
        value={value}
        disabled={!canWrite}
        onChange={async (event) => {
          const next = event.target.value;
          const result = await apiRequest(`/api/v1/models/${model}/versions/${encodeURIComponent(version)}`, { method: "PATCH", body: { stage: next } });
          if (result.ok) {
            setValue(next);
            setError(null);
          } else setError(result.message);
        }}
        className="rounded-md border border-slate-300 px-2 py-1 text-sm"
      >
        {STAGES.map((s) => <option key={s} value={s}>{s}</option>)}
      </select>
      {error ? <span role="alert" className="text-sm text-rose-700">{error}</span> : null}
    </div>
  );
}

export function DeleteVersionButton({ model, version }: { model: string; version: string }) {
  return (
    <ConfirmButton
      label="Delete version"
      title={`Delete ${model} version ${version}?`}
      description={<p>The version is removed from the registry. Its file is deleted too unless another version has identical content. This cannot be undone.</p>}
      confirmLabel="Delete version"
      onConfirm={async () => {
        const result = await apiRequest(`/api/v1/models/${model}/versions/${encodeURIComponent(version)}`, { method: "DELETE" });
        if (!result.ok) return result.message;
        window.location.assign(`/models/${model}`);
        return null;
      }}
    />
  );
}

export function DeleteModelButton({ model, versionCount }: { model: string; versionCount: number }) {
  return (
    <ConfirmButton
      label="Delete model"
      title={`Delete model ${model}?`}
      description={<p>The model and its description are removed. This cannot be undone.</p>}
      confirmLabel="Delete model"
      disabled={versionCount > 0}
      disabledReason="Delete its versions first"
      onConfirm={async () => {
        const result = await apiRequest(`/api/v1/models/${model}`, { method: "DELETE" });
        if (!result.ok) return result.message;
        window.location.assign("/models");
        return null;
      }}
    />
  );
}
