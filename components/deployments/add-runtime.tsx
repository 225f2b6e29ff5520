"use client";

import { apiRequest } from "../api-client";
import { Field } from "../field";
import { FormDialog } from "../form-dialog";
import { parsePairs } from "../pairs";

const FORMATS = ["onnx", "safetensors", "pytorch", "gguf", "tensorflow", "sklearn", "other"] as const;

/** Registers a runtime image from the site's registry; the registry password goes to the server once and is stored encrypted. */
export function AddRuntime() {
  return (
    <FormDialog
      trigger="Register runtime"
      title="Register a runtime"
      description="An inference server image your agents can pull, for example Triton or vLLM from your registry. Deployments mount the model file read-only under the mount path."
      submitLabel="Register runtime"
      busyLabel="Registering…"
      onSubmit={async (form) => {
        const text = (name: string) => String(form.get(name) ?? "").trim();
        const env = parsePairs(text("env"));
        if (typeof env === "string") return `Environment: ${env}`;
        const formats = FORMATS.filter((f) => form.get(`format-${f}`) === "on");
        if (formats.length === 0) return "Tick at least one model format it serves";
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
            args: text("args").split(/\s+/).filter(Boolean),
            env,
            registryUsername: text("username") || null,
            registryPassword: text("password") || null,
          },
        });
        if (!result.ok) return result.message;
        window.location.reload();
        return null;
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
    </FormDialog>
  );
}
