"use client";

import { KeyRound } from "lucide-react";
import clsx from "clsx";
import { useState } from "react";
import type { ApiTokenView } from "@/lib/auth/api-tokens";
import { apiRequest } from "./api-client";
import { CopyButton } from "./copy-button";
import { ConfirmButton } from "./confirm-button";

type RoleOption = { role: string; description: string };

const STATUS_STYLE: Record<ApiTokenView["status"], string> = {
  active: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  expired: "bg-slate-100 text-slate-600 ring-slate-500/20",
  revoked: "bg-rose-50 text-rose-700 ring-rose-600/20",
};

function formatDate(value: string | null) {
  return value ? new Date(value).toISOString().slice(0, 16).replace("T", " ") : "—";
}

function RevokeButton({ token, onRevoked }: { token: ApiTokenView; onRevoked: (token: ApiTokenView) => void }) {
  return (
    <ConfirmButton
      label="Revoke"
      title={`Revoke “${token.name}”?`}
      description={<p>Scripts and pipelines using this token ({token.displayPrefix}…) get 401 from their next request. This cannot be undone.</p>}
      confirmLabel="Revoke token"
      onConfirm={async () => {
        const result = await apiRequest<{ token: ApiTokenView }>(`/api/v1/tokens/${token.id}`, { method: "DELETE" });
        if (!result.ok) return result.message;
        onRevoked(result.data.token);
        return null;
      }}
    />
  );
}

export function ApiTokens({
  initialTokens,
  roles,
  showOwner,
  allowInference = false,
}: {
  initialTokens: ApiTokenView[];
  roles: RoleOption[];
  showOwner: boolean;
  /** Whether the signed-in user may mint tokens that call the inference gateway. */
  allowInference?: boolean;
}) {
  const [tokens, setTokens] = useState(initialTokens);
  const [name, setName] = useState("");
  const [role, setRole] = useState(roles[roles.length > 1 ? 1 : 0]?.role ?? "VIEWER");
  const [expiry, setExpiry] = useState("");
  const [canInfer, setCanInfer] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);

  async function create(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    // A date picked in the form means "valid through that day" (UTC).
    const expiresAt = expiry ? new Date(`${expiry}T23:59:59Z`).toISOString() : null;
    const result = await apiRequest<{ token: ApiTokenView; secret: string }>("/api/v1/tokens", {
      method: "POST",
      body: { name, role, expiresAt, ...(canInfer ? { canInfer: true } : {}) },
    });
    setBusy(false);
    if (!result.ok) {
      setError(result.message);
      return;
    }
    setTokens((current) => [result.data.token, ...current]);
    setCreated({ name: result.data.token.name, secret: result.data.secret });
    setName("");
    setExpiry("");
    setCanInfer(false);
  }

  return (
    <section aria-labelledby="api-tokens-heading" className="space-y-4">
      <div>
        <h2 id="api-tokens-heading" className="text-lg font-semibold">API tokens</h2>
        <p className="text-sm text-slate-600">
          For scripts, CI pipelines and the <code className="font-mono">berth</code> command-line tool: send as{" "}
          <code className="font-mono">Authorization: Bearer &lt;token&gt;</code>. A token&apos;s role can be no higher than yours.
        </p>
      </div>

      {created ? (
        <div role="status" className="rounded-lg border border-emerald-300 bg-emerald-50 p-4" data-testid="new-token">
          <p className="text-sm font-medium text-emerald-900">
            Token “{created.name}” created. Copy it now: Berth stores only its hash and will not show it again.
          </p>
          <div className="mt-2 flex items-center gap-2">
            <code className="block flex-1 overflow-x-auto rounded bg-white px-2 py-1.5 font-mono text-sm" data-testid="new-token-secret">
              {created.secret}
            </code>
            <CopyButton text={created.secret} />
          </div>
          <button type="button" className="mt-2 text-sm text-emerald-900 underline" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </div>
      ) : null}

      <form onSubmit={create} className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Name</span>
          <input
            required
            maxLength={80}
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ci-pipeline"
            className="w-56 rounded-md border border-slate-300 px-2 py-1.5"
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Role</span>
          <select value={role} onChange={(e) => setRole(e.target.value)} className="w-40 rounded-md border border-slate-300 px-2 py-1.5">
            {roles.map((option) => (
              <option key={option.role} value={option.role} title={option.description}>
                {option.role}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Expires (optional)</span>
          <input type="date" value={expiry} onChange={(e) => setExpiry(e.target.value)} className="rounded-md border border-slate-300 px-2 py-1.5" />
        </label>
        {allowInference ? (
          <label className="flex items-center gap-2 self-center text-sm" title="Lets the token call /api/v1/infer/... (berth infer), whatever its role">
            <input type="checkbox" checked={canInfer} onChange={(e) => setCanInfer(e.target.checked)} className="h-4 w-4" data-testid="token-can-infer" />
            <span>Can call deployments (inference)</span>
          </label>
        ) : null}
        <button
          type="submit"
          disabled={busy}
          className="inline-flex items-center gap-1.5 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50"
        >
          <KeyRound aria-hidden className="h-4 w-4" />
          {busy ? "Creating…" : "Create token"}
        </button>
        {error ? (
          <p role="alert" className="w-full text-sm text-rose-700">
            {error}
          </p>
        ) : null}
      </form>

      {tokens.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-center text-sm text-slate-600">
          No API tokens yet. Create one above for each script or pipeline, so each can be revoked on its own.
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="min-w-full text-left text-sm" data-testid="token-table">
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th scope="col" className="px-3 py-2">Name</th>
                <th scope="col" className="px-3 py-2">Token</th>
                <th scope="col" className="px-3 py-2">Role</th>
                {showOwner ? <th scope="col" className="px-3 py-2">Created by</th> : null}
                <th scope="col" className="px-3 py-2">Created</th>
                <th scope="col" className="px-3 py-2">Expires</th>
                <th scope="col" className="px-3 py-2">Last used</th>
                <th scope="col" className="px-3 py-2">Status</th>
                <th scope="col" className="px-3 py-2"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {tokens.map((token) => (
                <tr key={token.id} data-testid={`token-row-${token.name}`}>
                  <td className="px-3 py-2 font-medium">{token.name}</td>
                  <td className="px-3 py-2 font-mono text-xs">{token.displayPrefix}…</td>
                  <td className="px-3 py-2">
                    {token.role}
                    {token.canInfer ? <span className="ml-1 text-xs text-slate-500">+ inference</span> : null}
                  </td>
                  {showOwner ? <td className="px-3 py-2">{token.createdBy}</td> : null}
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{formatDate(token.createdAt)}</td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{formatDate(token.expiresAt)}</td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs">{formatDate(token.lastUsedAt)}</td>
                  <td className="px-3 py-2">
                    <span className={clsx("rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset", STATUS_STYLE[token.status])}>{token.status}</span>
                  </td>
                  <td className="px-3 py-2 text-right">
                    {token.status === "active" ? (
                      <RevokeButton token={token} onRevoked={(revoked) => setTokens((all) => all.map((t) => (t.id === revoked.id ? revoked : t)))} />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
