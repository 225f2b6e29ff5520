/**
 * A short-lived, in-process memory of agent credential → server, so most
 * heartbeats and long-polls skip the credential lookup.
 *
 * Correctness: a credential that stops working (server removed, agent
 * re-enrolled, credential rotated) must be refused at once. Every change
 * that can end a credential sends `pg_notify(CREDENTIALS_CHANNEL, serverId)`
 * in its own transaction; each process's LISTEN connection (fleet-listener.ts)
 * evicts that server's entries when the change commits, and the process that
 * made the change also evicts right after its commit. The cache is used only
 * while the LISTEN connection is up: when it drops, the cache is emptied and
 * bypassed until it is back, so no eviction can be missed unnoticed.
 * A lookup that raced an eviction is not stored (the `ticket` check).
 * What the TTL still bounds: changes made behind Berth's back (SQL by hand)
 * and a LISTEN connection that died silently, until its ping notices (a ping every 10 s
 * with a 10 s timeout: at most about 20 s, within the 30 s TTL).
 */
import type { Tx } from "@/lib/db/client";
import type { AgentIdentity } from "./agent-channel";

export const CREDENTIALS_CHANNEL = "berth_agent_credentials";
const TTL_MS = 30_000;
const MAX_ENTRIES = 200_000;

type Entry = { agent: AgentIdentity; expiresAt: number };
type State = { entries: Map<string, Entry>; invalidations: number; enabled: boolean };

// On globalThis: Next's bundled route handlers (server removal) and the custom
// server (the agent channel) load this module separately in one process.
const holder = globalThis as unknown as { __berthAgentCredentialCache?: State };
const state = (holder.__berthAgentCredentialCache ??= { entries: new Map(), invalidations: 0, enabled: false });

export function cachedAgent(credentialHash: string, now = Date.now()): AgentIdentity | undefined {
  if (!state.enabled) return undefined;
  const entry = state.entries.get(credentialHash);
  if (!entry) return undefined;
  if (entry.expiresAt > now) return entry.agent;
  state.entries.delete(credentialHash);
  return undefined;
}

/** Take before reading the database; `rememberAgent` stores the answer only if nothing was evicted meanwhile. */
export function cacheTicket(): number {
  return state.invalidations;
}

export function rememberAgent(credentialHash: string, agent: AgentIdentity, ticket: number, now = Date.now()): void {
  if (!state.enabled || ticket !== state.invalidations) return;
  if (state.entries.size >= MAX_ENTRIES) state.entries.clear();
  state.entries.set(credentialHash, { agent, expiresAt: now + TTL_MS });
}

export function forgetServerCredentials(serverId: string): void {
  state.invalidations++;
  for (const [hash, entry] of state.entries) if (entry.agent.serverId === serverId) state.entries.delete(hash);
}

/** Turned on while this process receives evictions (its LISTEN connection is up), off otherwise. */
export function setCredentialCacheEnabled(enabled: boolean): void {
  state.invalidations++;
  state.entries.clear();
  state.enabled = enabled;
}

export function credentialCacheSize(): number {
  return state.entries.size;
}

/** Inside the transaction that ends or replaces a server's credential: every process evicts it on commit. */
export async function announceCredentialChange(tx: Tx, serverId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${CREDENTIALS_CHANNEL}, ${serverId})`;
}
