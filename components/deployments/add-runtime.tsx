"use client";

import * as Dialog from "@radix-ui/react-alert-dialog";
import { Plus } from "lucide-react";
import { useState } from "react";
import { apiRequest } from "../api-client";
import { Field } from "../field";

const FORMATS = ["onnx", "safetensors", "pytorch", "gguf", "tensorflow", "sklearn", "other"] as const;

function words(text: string) {
  return text.split(/\s+/).filter(Boolean);
}

/** Registers a runtime image from the site's registry; the registry password goes to the server once and is stored encrypted. */
export function AddRuntime() {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog.Root open={open} onOpenChange={(next) => { setOpen(next); setError(null); }}>
      <Dialog.Trigger asChild>
        <button type="button" className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800">
          <Plus aria-hidden className="h-4 w-4" /> Register runtime
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-slate-900/40" />
        <Dialog.Content className="fixed left-1/2 top-1/2 max-h-[90vh] w-[min(40rem,94vw)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-6 shadow-xl">
          <Dialog.Title className="text-lg font-semibold">Register a runtime</Dialog.Title>
          <Dialog.Description className="mb-4 mt-1 text-sm text-slate-600">
            An inference server image your agents can pull, for example Triton or vLLM from your registry. Deployments mount the model file read-only under the mount path.
          </Dialog.Description>
          <form
            onSubmit={async (event) => {
              event.preventDefault();
              const form = new FormData(event.currentTarget);
              const text = (name: string) => String(form.get(name) ?? "").trim();
              const env: Record<string, string> = {};
              for (const pair of words(text("env"))) {
                const index = pair.indexOf("=");
                if (index <= 0) return setError(`Environment: “${pair}” is not KEY=VALUE`);
                env[pair.slice(0, index)] = pair.slice(index + 1);
              }
              const formats = FORMATS.filter((f) => form.get(`format-${f}`) === "on");
              if (formats.length === 0) return setError("Tick at least one model format it serves");
              setBusy(true);
              setError(null);
              const result = await apiRequest("/api/v1/runtimes", {
                method: "POST",
                body: {
                  name: text("name"),
                  description: text("description"),
                  image: text("image"),
                  containerPort: Number(text("port")),
                  readinessPath: text("readiness"),
                  protocol: text("protocol"),
                  modelMountPath: text("mount"),
                  supportedFormats: formats,
                  args: words(text("args")),
                  env,
                  registryUsername: text("username") || null,
                  registryPassword: text("password") || null,
                },
              });
              setBusy(false);
              if (!result.ok) return setError(result.message);
              window.location.reload();
            }}
          >
            <Field label="Name" name="name" required maxLength={63} placeholder="triton" hint="Lowercase letters, digits and dashes." />
            <Field label="Image" name="image" required placeholder="registry.internal/tritonserver:24.05-py3" />
            <div className="grid grid-cols-2 gap-x-4">
              <Field label="Container port" name="port" type="number" min={1} max={65535} required defaultValue={8000} />
              <Field label="Readiness path" name="readiness" required defaultValue="/v2/health/ready" />
            </div>
            <div className="mb-4 grid gap-1 text-sm">
              <label htmlFor="runtime-protocol" className="font-medium">Protocol</label>
              <select id="runtime-protocol" name="protocol" className="rounded-md border border-slate-300 px-3 py-2" defaultValue="open_inference_v2">
                <option value="open_inference_v2">Open Inference Protocol V2 (Triton, KServe, MLServer)</option>
                <option value="openai">OpenAI-compatible (vLLM and the like)</option>
                <option value="custom">Custom</option>
              </select>
            </div>
            <Field label="Model mount path" name="mount" required defaultValue="/models" />
            <fieldset className="mb-4 text-sm">
              <legend className="mb-1 font-medium">Model formats it serves</legend>
              <div className="flex flex-wrap gap-3">
                {FORMATS.map((f) => (
                  <label key={f} className="flex items-center gap-1.5"><input type="checkbox" name={`format-${f}`} defaultChecked={f === "onnx"} /> {f}</label>
                ))}
              </div>
            </fieldset>
            <Field label="Arguments (optional)" name="args" placeholder="--model-repository=/models" hint="Separated by spaces." />
            <Field label="Environment (optional)" name="env" placeholder="KEY=VALUE KEY2=VALUE2" />
            <div className="grid grid-cols-2 gap-x-4">
              <Field label="Registry username (optional)" name="username" autoComplete="off" />
              <Field label="Registry password (optional)" name="password" type="password" autoComplete="new-password" hint="Stored encrypted; never shown again." />
            </div>
            <Field label="Description (optional)" name="description" />
            {error ? <p role="alert" className="mb-3 rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-700">{error}</p> : null}
            <div className="flex justify-end gap-2">
              <Dialog.Cancel className="rounded-md border border-slate-300 px-3 py-1.5 text-sm">Cancel</Dialog.Cancel>
              <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
                {busy ? "Registering…" : "Register runtime"}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
