"use client";

import { Pause, Play, UploadCloud, X } from "lucide-react";
import clsx from "clsx";
import { useRef, useState } from "react";
import { Upload, type PreviousUpload } from "tus-js-client";
import { formatBytes, formatDuration } from "../format";

const FORMATS = [
  ["onnx", "ONNX"],
  ["safetensors", "safetensors"],
  ["pytorch", "PyTorch"],
  ["gguf", "GGUF"],
  ["tensorflow", "TensorFlow SavedModel (archive)"],
  ["sklearn", "scikit-learn / joblib"],
  ["other", "Other"],
] as const;

function guessFormat(fileName: string): string {
  const name = fileName.toLowerCase();
  if (name.endsWith(".onnx")) return "onnx";
  if (name.endsWith(".safetensors")) return "safetensors";
  if (/\.(pt|pth|bin)$/.test(name)) return "pytorch";
  if (name.endsWith(".gguf")) return "gguf";
  if (/\.(joblib|pkl|pickle)$/.test(name)) return "sklearn";
  if (/savedmodel.*\.(tar|tgz|tar\.gz|zip)$|\.(tar|tgz|tar\.gz|zip)$/.test(name)) return "tensorflow";
  return "other";
}

type Phase = "idle" | "uploading" | "paused" | "verifying" | "done" | "failed";
type Progress = { sent: number; total: number; bytesPerSecond: number };

/** The server's JSON error from a failed tus request, or tus-js-client's own message. */
function describeFailure(error: Error & { originalResponse?: { getBody(): string; getStatus(): number } | null }): string {
  const body = error.originalResponse?.getBody();
  if (body) {
    try {
      const parsed = JSON.parse(body) as { error?: { message?: string } };
      if (parsed.error?.message) return parsed.error.message;
    } catch {
      /* not JSON */
    }
    return body.trim();
  }
  return `The upload failed: ${error.message.split("\n")[0]}`;
}

/**
 * Resumable upload of a new version (tus): drag or pick a file, watch the
 * progress with speed and time left, pause and resume. A dropped connection
 * is retried from the last byte the server has; after a page reload,
 * picking the same file again resumes where it stopped.
 */
export function UploadPanel({ model }: { model: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState("onnx");
  const [label, setLabel] = useState("");
  const [sha256, setSha256] = useState("");
  const [phase, setPhase] = useState<Phase>("idle");
  const [progress, setProgress] = useState<Progress>({ sent: 0, total: 0, bytesPerSecond: 0 });
  const [message, setMessage] = useState<string | null>(null);
  const [result, setResult] = useState<{ label: string } | null>(null);
  const [dragging, setDragging] = useState(false);
  const upload = useRef<Upload | null>(null);
  const samples = useRef<{ at: number; sent: number }[]>([]);

  function choose(next: File | null) {
    setFile(next);
    setResult(null);
    setMessage(null);
    setPhase("idle");
    setProgress({ sent: 0, total: next?.size ?? 0, bytesPerSecond: 0 });
    if (next) setFormat(guessFormat(next.name));
  }

  async function start() {
    if (!file) return;
    setMessage(null);
    samples.current = [];
    const tus = new Upload(file, {
      endpoint: "/api/v1/uploads",
      chunkSize: 64 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      metadata: {
        model,
        format,
        filename: file.name,
        ...(label.trim() ? { version: label.trim() } : {}),
        ...(sha256.trim() ? { sha256: sha256.trim().toLowerCase() } : {}),
      },
      onProgress(sent, total) {
        const now = performance.now();
        samples.current.push({ at: now, sent });
        // Speed over the last five seconds: steady enough to read, quick to follow changes.
        while (samples.current.length > 2 && now - samples.current[0]!.at > 5000) samples.current.shift();
        const first = samples.current[0]!;
        const seconds = (now - first.at) / 1000;
        setProgress({ sent, total, bytesPerSecond: seconds > 0 ? (sent - first.sent) / seconds : 0 });
        if (sent === total) setPhase("verifying");
      },
      onError(error) {
        setPhase("failed");
        setMessage(describeFailure(error as Error & { originalResponse?: { getBody(): string; getStatus(): number } | null }));
      },
      onSuccess(payload) {
        let version: { label: string } | null = null;
        try {
          version = (JSON.parse(payload.lastResponse.getBody()) as { version: { label: string } }).version;
        } catch {
          version = null;
        }
        setResult(version);
        setPhase("done");
        setTimeout(() => window.location.reload(), 1200);
      },
    });
    upload.current = tus;
    const previous: PreviousUpload[] = await tus.findPreviousUploads();
    if (previous.length > 0) {
      tus.resumeFromPreviousUpload(previous[0]!);
      setMessage("Resuming an earlier upload of this file from where it stopped.");
    }
    setPhase("uploading");
    tus.start();
  }

  const percent = progress.total > 0 ? Math.floor((progress.sent / progress.total) * 100) : 0;
  const remaining = progress.bytesPerSecond > 0 ? (progress.total - progress.sent) / progress.bytesPerSecond : Number.NaN;
  const busy = phase === "uploading" || phase === "paused" || phase === "verifying";

  return (
    <section aria-labelledby="upload-heading" className="rounded-lg border border-slate-200 bg-white p-5">
      <h2 id="upload-heading" className="text-base font-semibold">Upload a new version</h2>
      <p className="mt-1 text-sm text-slate-600">
        The file is checked by SHA-256 as it arrives and registered only once it is complete. Interrupted uploads resume from the last byte received.
      </p>

      <label
        onDragOver={(event) => { event.preventDefault(); setDragging(true); }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          if (!busy) choose(event.dataTransfer.files[0] ?? null);
        }}
        className={clsx(
          "mt-4 flex cursor-pointer flex-col items-center rounded-lg border-2 border-dashed px-6 py-8 text-center text-sm",
          dragging ? "border-sky-500 bg-sky-50" : "border-slate-300 hover:bg-slate-50",
          busy && "pointer-events-none opacity-60",
        )}
      >
        <UploadCloud aria-hidden className="h-8 w-8 text-slate-400" />
        <span className="mt-2 font-medium">{file ? `${file.name} (${formatBytes(file.size)})` : "Drop a model file here, or click to choose one"}</span>
        <input type="file" className="sr-only" aria-label="Model file" disabled={busy} onChange={(event) => choose(event.target.files?.[0] ?? null)} />
      </label>

      {file ? (
        <div className="mt-4 flex flex-wrap items-end gap-3">
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Format</span>
            <select value={format} onChange={(e) => setFormat(e.target.value)} disabled={busy} className="rounded-md border border-slate-300 px-2 py-1.5">
              {FORMATS.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-sm">
            <span className="font-medium">Version label (optional)</span>
            <input value={label} onChange={(e) => setLabel(e.target.value)} disabled={busy} maxLength={63} placeholder="next number" className="w-40 rounded-md border border-slate-300 px-2 py-1.5" />
          </label>
          <label className="flex flex-grow flex-col gap-1 text-sm">
            <span className="font-medium">Expected SHA-256 (optional)</span>
            <input value={sha256} onChange={(e) => setSha256(e.target.value)} disabled={busy} maxLength={64} placeholder="refuse the file if its digest differs" className="rounded-md border border-slate-300 px-2 py-1.5 font-mono text-xs" />
          </label>
          {phase === "idle" || phase === "failed" ? (
            <button type="button" onClick={start} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-800">
              {phase === "failed" ? "Try again" : "Upload"}
            </button>
          ) : null}
        </div>
      ) : null}

      {phase !== "idle" ? (
        <div className="mt-4" data-testid="upload-progress">
          <div
            role="progressbar"
            aria-label="Upload progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            className="h-3 w-full overflow-hidden rounded-full bg-slate-200"
          >
            <div
              className={clsx("h-full transition-[width] duration-200", phase === "failed" ? "bg-rose-500" : phase === "done" ? "bg-emerald-500" : "bg-sky-600")}
              style={{ width: `${percent}%` }}
            />
          </div>
          <div className="mt-2 flex flex-wrap items-center justify-between gap-2 text-sm text-slate-700">
            <span data-testid="upload-status">
              {phase === "uploading" && `${percent}% · ${formatBytes(progress.sent)} of ${formatBytes(progress.total)} · ${formatBytes(progress.bytesPerSecond)}/s · ${formatDuration(remaining)} left`}
              {phase === "paused" && `Paused at ${percent}% (${formatBytes(progress.sent)} of ${formatBytes(progress.total)})`}
              {phase === "verifying" && "All bytes sent; verifying the digest and registering the version…"}
              {phase === "done" && `Uploaded: version ${result?.label ?? ""} is registered.`}
              {phase === "failed" && "Upload failed."}
            </span>
            <span className="flex gap-2">
              {phase === "uploading" ? (
                <button type="button" onClick={() => { void upload.current?.abort(); setPhase("paused"); }} className="inline-flex items-center gap-1 rounded-md border border-slate-300 px-2 py-1 text-sm">
                  <Pause aria-hidden className="h-3.5 w-3.5" /> Pause
                </button>
              ) : null}
              {phase === "paused" ? (
                <button type="button" onClick={() => { setPhase("uploading"); upload.current?.start(); }} className="inline-flex items-center gap-1 rounded-md border border-slate-300 px-2 py-1 text-sm">
                  <Play aria-hidden className="h-3.5 w-3.5" /> Resume
                </button>
              ) : null}
              {phase === "uploading" || phase === "paused" ? (
                <button
                  type="button"
                  onClick={async () => {
                    // Abort and delete the partial upload on the server.
                    await upload.current?.abort(true);
                    choose(null);
                  }}
                  className="inline-flex items-center gap-1 rounded-md border border-slate-300 px-2 py-1 text-sm"
                >
                  <X aria-hidden className="h-3.5 w-3.5" /> Cancel
                </button>
              ) : null}
            </span>
          </div>
        </div>
      ) : null}
      {message ? (
        <p role={phase === "failed" ? "alert" : "status"} className={clsx("mt-3 rounded-md px-3 py-2 text-sm", phase === "failed" ? "bg-rose-50 text-rose-700" : "bg-sky-50 text-sky-900")}>
          {message}
        </p>
      ) : null}
    </section>
  );
}
