/** bench/audit's events: varied and realistic, appended through the production path. */
import type pg from "pg";
import { appendEvents } from "../../lib/audit/append-batch";
import { appendArguments, type AuditEventInput } from "../../lib/audit/record-event";

type Actor = AuditEventInput["actor"];

const ACTORS: Actor[] = [
  ...Array.from({ length: 40 }, (_, i): Actor => ({ kind: "USER", id: `0b6f${String(i).padStart(4, "0")}-5c1e-4a57-9d0e-7f3a2c1b9e${String(i).padStart(2, "0")}`, label: `engineer${i}@example.com` })),
  ...Array.from({ length: 10 }, (_, i): Actor => ({ kind: "API_TOKEN", id: `tok_${i}`, label: `ci-pipeline-${i}` })),
  ...Array.from({ length: 20 }, (_, i): Actor => ({ kind: "AGENT", id: `srv_${i}`, label: `gpu-node-${String(i).padStart(2, "0")}` })),
  { kind: "SYSTEM", id: null, label: "system" },
  { kind: "ANONYMOUS", id: null, label: "anonymous" },
];

/** A varied, realistic event, as the routes record them (quotes, newlines, non-ASCII and nesting in details). */
function eventInput(i: number): AuditEventInput {
  const actor = ACTORS[i % ACTORS.length]!;
  const request = { sourceAddress: i % 7 === 0 ? null : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, requestId: i % 11 === 0 ? null : `req-${i.toString(36)}-${(i * 2654435761) >>> 0}` };
  const base = { actor, request };
  switch (i % 8) {
    case 0:
      return { ...base, action: "model.update", target: { kind: "model", id: `m-${i % 97}`, label: `fraud-detector-${i % 97}` }, details: { changes: { description: { from: `rev ${i - 1}`, to: `rev ${i}: "tuned" thresholds\nfor région ${i % 13}` } } } };
    case 1:
      return { ...base, action: "deployment.create", target: { kind: "deployment", id: `d-${i % 211}`, label: `churn-${i % 211}` }, details: { replicas: (i % 4) + 1, runtime: "onnx", model: `churn-${i % 211}`, version: (i % 13) + 1, placement: { gpu: i % 2 === 0, zone: null } } };
    case 2:
      return { ...base, outcome: "DENIED", action: "inference.request", target: { kind: "deployment", label: `iris-${i % 50}` }, details: { reason: "forbidden", path: `/api/v1/infer/iris-${i % 50}/v2/models/iris/infer`, status: 403 } };
    case 3:
      return { ...base, action: "server.online", target: { kind: "server", id: `srv_${i % 20}`, label: `gpu-node-${String(i % 20).padStart(2, "0")}` }, details: { from: "OFFLINE", to: "ONLINE", gpus: [{ index: 0, model: "A100" }, { index: 1, model: "A100" }] } };
    case 4:
      return { ...base, outcome: "FAILURE", action: "auth.login", target: { kind: "user", label: `user${i % 300}@example.com` }, details: { reason: `wrong "pass" \\ for ünïcödé ✓ \u2028 #${i}` } };
    case 5:
      return { ...base, action: "model_version.create", target: { kind: "model_version", id: `mv-${i}`, label: `resnet50:${i % 40}` }, details: { sha256: ((i * 40503) >>> 0).toString(16).padStart(8, "0").repeat(8), sizeBytes: 104857600 + i, format: "ONNX", tags: ["prod", `batch-${i % 9}`] } };
    case 6:
      return { ...base, action: "deployment.scale", target: { kind: "deployment", id: `d-${i % 211}`, label: `churn-${i % 211}` }, details: { from: i % 5, to: (i % 5) + 1 } };
    default:
      return { ...base, action: "audit.read", target: { kind: "audit_log", label: "audit log" } };
  }
}

/**
 * Appends the events in statements of 10,000 through the production path: each event's arguments
 * from appendArguments (what recordAuditEvent sends), appended by appendEvents (what
 * recordStandaloneAuditEvent's batches run: berth_audit_append once per event, one transaction).
 */
export async function generateEvents(client: pg.ClientBase, eventCount: number, progress: (done: number, seconds: number) => void): Promise<number> {
  const started = performance.now();
  let done = 0;
  // The next statement's arguments are built while the database runs this one.
  let pending: Promise<unknown> | null = null;
  while (done < eventCount) {
    const count = Math.min(10_000, eventCount - done);
    const events = Array.from({ length: count }, (_, k) => appendArguments(eventInput(done + k)));
    if (pending) await pending;
    pending = appendEvents(client, events);
    done += count;
    if (done % 100_000 === 0) progress(done, (performance.now() - started) / 1000);
  }
  await pending;
  return (performance.now() - started) / 1000;
}

