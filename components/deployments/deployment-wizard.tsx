"use client";

import clsx from "clsx";
import { useRouter } from "next/navigation";
import { useId, useMemo, useState } from "react";
import { apiRequest } from "../api-client";
import { formatBytes } from "../format";
import { parsePairs } from "../pairs";

export type WizardModel = { model: string; versions: { label: string; format: string; stage: string; createdAt: string }[] };
import type { ServerChoice as WizardServer } from "@/lib/deployments/placement";
export type WizardRuntime = { name: string; image: string; supportedFormats: string[]; builtin: boolean };

const STEPS = ["Model", "Servers", "Resources", "Review"] as const;
const inputClass = "rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-sky-600 focus:outline-none focus:ring-1 focus:ring-sky-600";

/** A label tied to its control by id, so its accessible name is the label alone (not the control's value). */
function Labelled({ label, children }: { label: string; children: (id: string) => React.ReactNode }) {
  const id = useId();
  return (
    <div className="grid gap-1 text-sm">
      <label htmlFor={id} className="font-medium">{label}</label>
      {children(id)}
    </div>
  );
}

/** Four steps from a model version to running replicas; the server checks everything again on create. */
export function DeploymentWizard({ models, servers, runtimes }: { models: WizardModel[]; servers: WizardServer[]; runtimes: WizardRuntime[] }) {
  const router = useRouter();
  const [step, setStep] = useState(0);
  const [name, setName] = useState("");
  const [model, setModel] = useState(models[0]?.model ?? "");
  const versions = models.find((m) => m.model === model)?.versions ?? [];
  const [version, setVersion] = useState(models[0]?.versions[0]?.label ?? "");
  const [mode, setMode] = useState<"servers" | "selector">("servers");
  const [chosen, setChosen] = useState<string[]>([]);
  const [selector, setSelector] = useState("");
  const [replicas, setReplicas] = useState("");
  const format = versions.find((v) => v.label === version)?.format ?? "";
  const fitting = runtimes.filter((r) => r.supportedFormats.includes(format));
  const [runtime, setRuntime] = useState("");
  const [cpus, setCpus] = useState("");
  const [memory, setMemory] = useState("");
  const [gpus, setGpus] = useState("0");
  const [env, setEnv] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const runtimeName = runtime || fitting[0]?.name || "";

  const selectorPairs = useMemo(() => parsePairs(selector), [selector]);
  const matching = typeof selectorPairs === "string" ? [] : servers.filter((s) => Object.entries(selectorPairs).every(([k, v]) => s.labels[k] === v));

  function problem(at: number): string | null {
    if (at === 0) {
      if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) return "Name the deployment: lowercase letters, digits and dashes, starting and ending with a letter or digit.";
      if (!model || !version) return "Choose a model version.";
      if (fitting.length === 0) return `No runtime serves ${format} models. Register one under Runtimes first.`;
    }
    if (at === 1) {
      if (mode === "servers" && chosen.length === 0) return "Choose at least one server.";
      if (mode === "selector") {
        if (typeof selectorPairs === "string") return `Selector: ${selectorPairs}`;
        if (Object.keys(selectorPairs).length === 0) return "Give at least one label, e.g. gpu=a100.";
        if (matching.length === 0) return "No server has those labels.";
      }
    }
    if (at === 2) {
      if (replicas && !(Number.isInteger(Number(replicas)) && Number(replicas) >= 1 && Number(replicas) <= 64)) return "Replicas: a whole number from 1 to 64.";
      if (cpus && !(Number(cpus) > 0)) return "CPUs: a positive number, e.g. 1.5.";
      if (memory && !/^\d+(\.\d+)?\s*[kmgt]?b?$/i.test(memory.trim())) return "Memory: a size such as 512m or 2g.";
      if (typeof parsePairs(env) === "string") return `Environment: ${parsePairs(env) as string}`;
    }
    return null;
  }

  function next() {
    const found = problem(step);
    setError(found);
    if (!found) setStep(step + 1);
  }

  async function create() {
    setBusy(true);
    setError(null);
    const body = {
      name,
      model: `${model}@${version}`,
      ...(mode === "servers" ? { servers: chosen } : { selector: selectorPairs }),
      ...(replicas ? { replicas: Number(replicas) } : {}),
      runtime: runtimeName,
      ...(cpus ? { cpus: Number(cpus) } : {}),
      ...(memory ? { memory: memory.trim() } : {}),
      gpus: Number(gpus) || 0,
      env: parsePairs(env),
    };
    const result = await apiRequest<{ deployment: { name: string } }>("/api/v1/deployments", { method: "POST", body });
    setBusy(false);
    if (!result.ok) return setError(result.message);
    router.push(`/deployments/${result.data.deployment.name}`);
  }

  const placementText = mode === "servers" ? chosen.join(", ") : typeof selectorPairs === "string" ? "—" : `${Object.entries(selectorPairs).map(([k, v]) => `${k}=${v}`).join(", ")} (${matching.map((s) => s.name).join(", ")})`;

  return (
    <div className="max-w-3xl rounded-lg border border-slate-200 bg-white p-6">
      <ol className="mb-6 flex gap-2 text-sm" aria-label="Steps">
        {STEPS.map((label, index) => (
          <li key={label} aria-current={index === step ? "step" : undefined} className={clsx("flex-1 rounded-md border px-3 py-2", index === step ? "border-sky-600 bg-sky-50 font-medium text-sky-800" : index < step ? "border-emerald-300 text-emerald-800" : "border-slate-200 text-slate-500")}>
            {index + 1}. {label}
          </li>
        ))}
      </ol>

      {step === 0 ? (
        <div className="grid gap-4">
          <Labelled label="Deployment name">
            {(id) => (
              <>
                <input id={id} className={inputClass} value={name} onChange={(e) => setName(e.target.value.trim())} placeholder="iris-prod" maxLength={63} />
                <span className="text-xs text-slate-500">Used in the inference URL: /api/v1/infer/{name || "NAME"}/…</span>
              </>
            )}
          </Labelled>
          {models.length === 0 ? (
            <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800">The registry has no model versions yet. Upload one under Models first.</p>
          ) : (
            <div className="grid grid-cols-2 gap-4">
              <Labelled label="Model">
                {(id) => (
                  <>
                    <select id={id} className={inputClass} value={model} onChange={(e) => { setModel(e.target.value); setVersion(models.find((m) => m.model === e.target.value)?.versions[0]?.label ?? ""); }}>
                    {models.map((m) => <option key={m.model} value={m.model}>{m.model}</option>)}
                    </select>
                  </>
                )}
              </Labelled>
              <Labelled label="Version">
                {(id) => (
                  <>
                    <select id={id} className={inputClass} value={version} onChange={(e) => setVersion(e.target.value)}>
                    {versions.map((v) => <option key={v.label} value={v.label}>{v.label} · {v.format}{v.stage !== "none" ? ` · ${v.stage}` : ""}</option>)}
                    </select>
                  </>
                )}
              </Labelled>
            </div>
          )}
        </div>
      ) : null}

      {step === 1 ? (
        <div className="grid gap-4">
          <div className="flex gap-4 text-sm" role="radiogroup" aria-label="Placement">
            <label className="flex items-center gap-2"><input type="radio" checked={mode === "servers"} onChange={() => setMode("servers")} /> Choose servers</label>
            <label className="flex items-center gap-2"><input type="radio" checked={mode === "selector"} onChange={() => setMode("selector")} /> Servers with labels</label>
          </div>
          {servers.length === 0 ? <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800">No servers are enrolled. Add one under Servers and start its agent.</p> : null}
          {mode === "servers" ? (
            <ul className="grid gap-2">
              {servers.map((s) => (
                <li key={s.name}>
                  <label className={clsx("flex items-start gap-3 rounded-md border px-3 py-2 text-sm", s.unfit ? "border-slate-200 bg-slate-50 text-slate-500" : "border-slate-300")}>
                    <input type="checkbox" disabled={s.unfit !== null} checked={chosen.includes(s.name)} onChange={(e) => setChosen(e.target.checked ? [...chosen, s.name] : chosen.filter((n) => n !== s.name))} aria-label={`Server ${s.name}`} />
                    <span className="grid gap-0.5">
                      <span className="font-medium">{s.name} <span className="font-normal text-slate-500">· {s.state}</span></span>
                      <span className="text-xs text-slate-500">
                        {s.cores ?? "?"} cores · {s.memoryTotalBytes ? formatBytes(s.memoryTotalBytes) : "?"} memory · {s.gpus} GPU{s.gpus === 1 ? "" : "s"}
                        {Object.keys(s.labels).length ? ` · ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""}
                      </span>
                      {s.unfit ? <span className="text-xs text-rose-700">Unavailable: {s.unfit}</span> : null}
                    </span>
                  </label>
                </li>
              ))}
            </ul>
          ) : (
            <Labelled label="Label selector">
              {(id) => (
                <>
                  <input id={id} className={inputClass} value={selector} onChange={(e) => setSelector(e.target.value)} placeholder="gpu=a100 zone=dc1" />
                  <span className="text-xs text-slate-500">Matches {matching.length} server{matching.length === 1 ? "" : "s"}{matching.length ? `: ${matching.map((s) => s.name + (s.unfit ? " (unavailable)" : "")).join(", ")}` : ""}</span>
                </>
              )}
            </Labelled>
          )}
        </div>
      ) : null}

      {step === 2 ? (
        <div className="grid grid-cols-2 gap-4">
          <Labelled label="Replicas">
            {(id) => (
              <>
                <input id={id} className={inputClass} inputMode="numeric" value={replicas} onChange={(e) => setReplicas(e.target.value)} placeholder={mode === "servers" ? String(Math.max(chosen.length, 1)) : "1"} />
                <span className="text-xs text-slate-500">Default: one per chosen server.</span>
              </>
            )}
          </Labelled>
          <Labelled label="Runtime">
            {(id) => (
              <>
                <select id={id} className={inputClass} value={runtimeName} onChange={(e) => setRuntime(e.target.value)}>
                {fitting.map((r) => <option key={r.name} value={r.name}>{r.name}{r.builtin ? " (built in)" : ""}</option>)}
                </select>
              </>
            )}
          </Labelled>
          <Labelled label="CPUs per replica">
            {(id) => (
              <>
                <input id={id} className={inputClass} value={cpus} onChange={(e) => setCpus(e.target.value)} placeholder="unlimited" />
              </>
            )}
          </Labelled>
          <Labelled label="Memory per replica">
            {(id) => (
              <>
                <input id={id} className={inputClass} value={memory} onChange={(e) => setMemory(e.target.value)} placeholder="unlimited, or e.g. 512m, 2g" />
              </>
            )}
          </Labelled>
          <Labelled label="GPUs per replica">
            {(id) => (
              <>
                <input id={id} className={inputClass} inputMode="numeric" value={gpus} onChange={(e) => setGpus(e.target.value)} />
              </>
            )}
          </Labelled>
          <Labelled label="Environment">
            {(id) => (
              <>
                <input id={id} className={inputClass} value={env} onChange={(e) => setEnv(e.target.value)} placeholder="KEY=VALUE KEY2=VALUE2" />
              </>
            )}
          </Labelled>
        </div>
      ) : null}

      {step === 3 ? (
        <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2 text-sm" data-testid="wizard-review">
          <dt className="text-slate-500">Name</dt><dd className="font-medium">{name}</dd>
          <dt className="text-slate-500">Model version</dt><dd className="font-mono">{model}@{version} ({format})</dd>
          <dt className="text-slate-500">Placement</dt><dd>{placementText}</dd>
          <dt className="text-slate-500">Replicas</dt><dd>{replicas || (mode === "servers" ? chosen.length : 1)}</dd>
          <dt className="text-slate-500">Runtime</dt><dd>{runtimeName}</dd>
          <dt className="text-slate-500">Limits</dt><dd>cpus {cpus || "unlimited"} · memory {memory || "unlimited"} · gpus {gpus || 0}</dd>
          <dt className="text-slate-500">Environment</dt><dd className="font-mono text-xs">{env || "—"}</dd>
        </dl>
      ) : null}

      {error ? <p role="alert" className="mt-4 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
      <div className="mt-6 flex justify-between">
        <button type="button" onClick={() => (step === 0 ? router.push("/deployments") : setStep(step - 1))} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">
          {step === 0 ? "Cancel" : "Back"}
        </button>
        {step < STEPS.length - 1 ? (
          <button type="button" onClick={next} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">Next</button>
        ) : (
          <button type="button" onClick={create} disabled={busy} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
            {busy ? "Creating…" : "Create deployment"}
          </button>
        )}
      </div>
    </div>
  );
}
