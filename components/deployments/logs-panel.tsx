"use client";

import { useEffect, useState } from "react";
import { apiRequest } from "../api-client";

type ReplicaLogs = { replicaId: string; slot: number; server: string; phase: string; lines: string[]; updatedAt: string };

/** The containers' last lines, refreshed every two seconds while the page is open (the agents send them as they change). */
export function LogsPanel({ name }: { name: string }) {
  const [replicas, setReplicas] = useState<ReplicaLogs[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(true);
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const load = async () => {
      const result = await apiRequest<{ replicas: ReplicaLogs[] }>(`/api/v1/deployments/${name}/logs`);
      if (stopped) return;
      if (result.ok) {
        setReplicas(result.data.replicas);
        setError(null);
      } else setError(result.message);
    };
    void load();
    const timer = setInterval(load, 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [name, live]);
  return (
    <section aria-label="Logs" className="rounded-lg border border-slate-200 bg-white p-4">
      <div className="mb-2 flex items-center justify-between">
        <h2 className="font-semibold">Container logs</h2>
        <label className="flex items-center gap-2 text-sm"><input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live tail</label>
      </div>
      {error ? <p role="alert" className="text-sm text-rose-700">{error}</p> : null}
      {replicas === null ? <p className="text-sm text-slate-500">Loading…</p> : replicas.length === 0 ? <p className="text-sm text-slate-500">No replicas.</p> : null}
      {replicas?.map((replica) => (
        <div key={replica.replicaId} className="mb-3">
          <p className="mb-1 text-xs text-slate-500">Replica {replica.slot} on {replica.server} · {replica.phase}</p>
          <pre className="max-h-64 overflow-auto rounded-md bg-slate-900 p-3 text-xs leading-relaxed text-slate-100" data-testid={`logs-${replica.slot}`}>
            {replica.lines.length ? replica.lines.join("\n") : "(no output yet)"}
          </pre>
        </div>
      ))}
    </section>
  );
}
