import type { Prisma, Server } from "@prisma/client";
import { getDb, getPool, type Tx } from "@/lib/db/client";
import { createBatchedRead } from "@/lib/db/batched-read";
import { asSql, type Sql } from "@/lib/db/sql";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { emitWebhookEvent } from "@/lib/webhooks/emit";
import type { RequestContext } from "@/lib/auth/actor";
import { generateSecret, hashSecret } from "@/lib/auth/secrets";
import { AGENT_CREDENTIAL_PREFIX, ENROLMENT_TOKEN_PREFIX, type DesiredState, type Inventory } from "@/lib/protocol/agent";
import { drainSeconds, workloadsForServer } from "@/lib/deployments/desired-state";
import { waitForGeneration } from "./generation-watch";
import { readGeneration } from "./generation-reader";
import { announceCredentialChange, cachedAgent, cacheTicket, forgetServerCredentials, rememberAgent } from "./credential-cache";
import { GENERATION_CHANNEL } from "./fleet-listener";
import { writeOnlineHeartbeat } from "./heartbeat-writer";
import { fleetTiming } from "./timing";

export type AgentIdentity = { kind: "AGENT"; id: string; label: string; serverId: string; serverName: string; usedPreviousCredential: boolean };

function agentActor(server: Pick<Server, "id" | "name">) {
  return { kind: "AGENT" as const, id: server.id, label: `agent on ${server.name}` };
}

function inventoryColumns(inventory: Inventory) {
  return { hostname: inventory.hostname, agentVersion: inventory.agentVersion, inventory: inventory as unknown as Prisma.InputJsonObject };
}

async function markOnline(tx: Tx, server: Server, request: RequestContext) {
  if (server.connectivity === "ONLINE") return;
  await recordAuditEvent(tx, {
    actor: agentActor(server),
    request,
    action: "server.online",
    target: { kind: "server", id: server.id, label: server.name },
    details: { was: server.connectivity.toLowerCase() },
  });
}

/**
 * Trades a one-time enrolment token for the agent's own long-lived
 * credential. The token is consumed in the same transaction, so it works once.
 */
export async function enrolAgent(options: { token: string; inventory: Inventory; request: RequestContext }) {
  if (!options.token.startsWith(`${ENROLMENT_TOKEN_PREFIX}_`)) throw new BerthError("unauthenticated", "That is not a Berth enrolment token");
  const credential = generateSecret(AGENT_CREDENTIAL_PREFIX);
  const result = await getDb().$transaction(async (tx) => {
    const server = await tx.server.findUnique({ where: { enrolmentTokenHash: hashSecret(options.token) } });
    if (!server) return { refused: "unknown or already used enrolment token" } as const;
    if (!server.enrolmentExpiresAt || server.enrolmentExpiresAt <= new Date()) return { refused: "expired enrolment token", server } as const;
    const enrolled = await tx.server.update({
      where: { id: server.id },
      data: {
        enrolmentTokenHash: null,
        enrolmentExpiresAt: null,
        enrolledAt: new Date(),
        credentialHash: hashSecret(credential),
        previousCredentialHash: null,
        rotationRequested: false,
        connectivity: "ONLINE",
        lastSeenAt: new Date(),
        ...inventoryColumns(options.inventory),
      },
    });
    await recordAuditEvent(tx, {
      actor: agentActor(server),
      request: options.request,
      action: "server.enrol",
      target: { kind: "server", id: server.id, label: server.name },
      details: {
        hostname: options.inventory.hostname,
        os: `${options.inventory.os.platform} ${options.inventory.os.release}`,
        agentVersion: options.inventory.agentVersion,
        reEnrolment: server.credentialHash !== null,
      },
    });
    await markOnline(tx, server, options.request);
    // A re-enrolment replaces the credential: the old one stops working everywhere.
    if (server.credentialHash !== null) await announceCredentialChange(tx, server.id);
    return { server: enrolled } as const;
  });
  if (!("refused" in result)) forgetServerCredentials(result.server.id);
  if ("refused" in result) {
    await getDb().$transaction((tx) =>
      recordAuditEvent(tx, {
        actor: { kind: "ANONYMOUS", id: null, label: `host ${options.inventory.hostname.slice(0, 100)}` },
        request: options.request,
        action: "server.enrol",
        outcome: "DENIED",
        target: result.server ? { kind: "server", id: result.server.id, label: result.server.name } : { kind: "server" },
        details: { reason: result.refused },
      }),
    );
    const refusal = new BerthError("unauthenticated", `Enrolment refused: ${result.refused}. Ask an admin for a new token (Servers → the server → New enrolment token).`);
    refusal.audited = true;
    throw refusal;
  }
  return { serverId: result.server.id, serverName: result.server.name, credential, heartbeatIntervalSeconds: fleetTiming().heartbeatSeconds };
}

type CredentialRow = { id: string; name: string; credential_hash: string | null; previous_credential_hash: string | null };

/**
 * Credential hash → server, batched (lib/db/batched-read.ts): after a
 * control-plane restart every agent's first request misses the cache at once
 * (10,000 lookups in a few seconds in bench/fleet). A statement prepared once
 * per connection (`name`): the lookups, heartbeat writes and generation reads
 * are the agent channel's only statements, run thousands of times a minute.
 */
const lookUpCredential = createBatchedRead<CredentialRow>(async (hashes) => {
  const { rows } = await getPool().query<CredentialRow>({
    name: "berth-agent-credentials",
    text: "SELECT id, name, credential_hash, previous_credential_hash FROM servers WHERE credential_hash = ANY($1::text[]) OR previous_credential_hash = ANY($1::text[])",
    values: [hashes],
  });
  const byHash = new Map<string, CredentialRow>();
  for (const row of rows) {
    if (row.previous_credential_hash) byHash.set(row.previous_credential_hash, row);
    if (row.credential_hash) byHash.set(row.credential_hash, row);
  }
  return byHash;
});

/**
 * Who is calling on the agent channel: a raw `pg` lookup (every heartbeat and
 * long-poll passes here; see lib/db/client.ts `getPool`), remembered for a
 * short while in credential-cache.ts, whose header says why a credential that
 * stops working is still refused at once.
 */
export async function authenticateAgent(authorization: string | null): Promise<{ ok: true; agent: AgentIdentity } | { ok: false; reason: string }> {
  const secret = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!secret) return { ok: false, reason: "no_credentials" };
  if (!secret.startsWith(`${AGENT_CREDENTIAL_PREFIX}_`)) return { ok: false, reason: "malformed_credential" };
  const hash = hashSecret(secret);
  const cached = cachedAgent(hash);
  if (cached) return { ok: true, agent: cached };
  const ticket = cacheTicket();
  const server = await lookUpCredential(hash);
  if (!server) return { ok: false, reason: "unknown_credential" };
  const usedPrevious = server.previous_credential_hash === hash;
  if (!usedPrevious && server.previous_credential_hash) {
    // The new credential is in use: the one before it stops working now.
    await getDb().server.update({ where: { id: server.id }, data: { previousCredentialHash: null } });
  }
  const agent: AgentIdentity = { ...agentActor(server), serverId: server.id, serverName: server.name, usedPreviousCredential: usedPrevious };
  // Only the current credential is remembered: the previous one ends when the new one is first used.
  if (!usedPrevious) rememberAgent(hash, agent, ticket);
  return { ok: true, agent };
}

/**
 * The hottest write in Berth: every host, every 10 s. A server already online
 * is written by heartbeat-writer.ts (raw pool, no Prisma, heartbeats that
 * arrive together share one UPDATE); only the transition to online goes
 * through a transaction with its audit event.
 */
export async function recordHeartbeat(options: { agent: AgentIdentity; inventory: Inventory; observedGeneration: number | null; request: RequestContext }) {
  const lastSeenAt = new Date();
  const answer = (server: { name: string; generation: number; rotationRequested: boolean; adminState: Server["adminState"] }) => ({
    serverName: server.name,
    generation: server.generation,
    heartbeatIntervalSeconds: fleetTiming().heartbeatSeconds,
    rotateCredential: server.rotationRequested,
    adminState: server.adminState.toLowerCase() as "active" | "draining" | "disabled",
  });
  const { inventory } = options;
  const row = await writeOnlineHeartbeat({ serverId: options.agent.serverId, lastSeenAt, observedGeneration: options.observedGeneration, inventory });
  if (row) return answer({ name: row.name, generation: row.generation, rotationRequested: row.rotation_requested, adminState: row.admin_state });
  return getDb().$transaction(async (tx) => {
    const server = await tx.server.findUnique({ where: { id: options.agent.serverId } });
    if (!server) throw new BerthError("unauthenticated", "This server has been removed");
    const columns = { lastSeenAt, observedGeneration: options.observedGeneration, ...inventoryColumns(inventory) };
    const updated = await tx.server.update({ where: { id: server.id }, data: { ...columns, connectivity: "ONLINE" } });
    await markOnline(tx, server, options.request);
    return answer(updated);
  });
}

/** Issues the agent a new credential; the old one keeps working until the new one is first used. */
export async function rotateAgentCredential(options: { agent: AgentIdentity; request: RequestContext }) {
  const credential = generateSecret(AGENT_CREDENTIAL_PREFIX);
  await getDb().$transaction(async (tx) => {
    const server = await tx.server.findUnique({ where: { id: options.agent.serverId } });
    if (!server?.credentialHash) throw new BerthError("unauthenticated", "This server has been removed");
    await tx.server.update({
      where: { id: server.id },
      data: { previousCredentialHash: server.credentialHash, credentialHash: hashSecret(credential), rotationRequested: false },
    });
    await recordAuditEvent(tx, {
      actor: agentActor(server),
      request: options.request,
      action: "server.credential_rotate",
      target: { kind: "server", id: server.id, label: server.name },
    });
    await announceCredentialChange(tx, server.id);
  });
  forgetServerCredentials(options.agent.serverId);
  return { credential };
}

async function currentGeneration(serverId: string): Promise<number> {
  const generation = await readGeneration(serverId);
  if (generation === null) throw new BerthError("unauthenticated", "This server has been removed");
  return generation;
}

/**
 * The long-poll: answers at once when the server's generation differs from
 * the one the agent has, else waits (up to `waitSeconds`) for a change. The
 * waiter is registered before the read, so a change committed in between
 * still wakes it; a wake-up carries the committed generation (NOTIFY is
 * delivered on commit), so it needs no second read.
 */
export async function desiredStateFor(options: { agent: AgentIdentity; after?: number; waitSeconds: number; signal?: AbortSignal }): Promise<DesiredState> {
  const { serverId } = options.agent;
  const waits = options.after !== undefined && options.waitSeconds > 0;
  const deadline = Date.now() + options.waitSeconds * 1000;
  const done = new AbortController();
  const hangUp = () => done.abort();
  options.signal?.addEventListener("abort", hangUp, { once: true });
  let generation: number;
  try {
    let waiting = waits ? waitForGeneration(serverId, options.waitSeconds * 1000, done.signal) : null;
    generation = await currentGeneration(serverId);
    while (waiting && generation === options.after) {
      const woken = await waiting;
      if (woken === null) break;
      generation = woken;
      const left = deadline - Date.now();
      waiting = left > 0 ? waitForGeneration(serverId, left, done.signal) : null;
    }
  } finally {
    done.abort();
    options.signal?.removeEventListener("abort", hangUp);
  }
  return { generation, workloads: await workloadsForServer(serverId, generation), drainSeconds: drainSeconds() };
}

/**
 * Bumps a server's desired-state generation. The NOTIFY goes out with the
 * transaction's commit (never on rollback) and wakes the agent's long-poll in
 * whichever control-plane process holds it (fleet-listener.ts).
 */
export async function bumpGeneration(tx: Tx | Sql, serverId: string): Promise<number> {
  const [updated] = await asSql(tx).query<{ generation: number }>(
    `WITH bumped AS (UPDATE servers SET generation = generation + 1 WHERE id = $1::uuid RETURNING generation)
     SELECT generation, pg_notify($2, $3 || ':' || generation)::text AS notified FROM bumped`,
    [serverId, GENERATION_CHANNEL, serverId],
  );
  if (!updated) throw new BerthError("not_found", "The server was not found");
  return updated.generation;
}

/** Marks servers whose heartbeats stopped as offline, one audit event per transition. */
export async function sweepOfflineServers(now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - fleetTiming().offlineAfterSeconds * 1000);
  const stale = await getDb().server.findMany({ where: { connectivity: "ONLINE", lastSeenAt: { lt: cutoff } } });
  for (const server of stale) {
    await getDb().$transaction(async (tx) => {
      const changed = await tx.server.updateMany({ where: { id: server.id, connectivity: "ONLINE", lastSeenAt: { lt: cutoff } }, data: { connectivity: "OFFLINE" } });
      if (changed.count === 0) return;
      await recordAuditEvent(tx, {
        actor: { kind: "SYSTEM", id: null, label: "offline detector" },
        request: { requestId: null, sourceAddress: null },
        action: "server.offline",
        target: { kind: "server", id: server.id, label: server.name },
        details: { lastSeenAt: server.lastSeenAt?.toISOString() ?? null, offlineAfterSeconds: fleetTiming().offlineAfterSeconds },
      });
      await emitWebhookEvent(tx, "server.offline", {
        server: { id: server.id, name: server.name, hostname: server.hostname },
        lastSeenAt: server.lastSeenAt?.toISOString() ?? null,
        offlineAfterSeconds: fleetTiming().offlineAfterSeconds,
      });
    });
  }
  return stale.length;
}
