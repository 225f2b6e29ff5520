import type { Prisma, Server } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { listAuditEvents } from "@/lib/audit/list-events";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { generateSecret, hashSecret } from "@/lib/auth/secrets";
import { ENROLMENT_TOKEN_PREFIX, type Inventory } from "@/lib/protocol/agent";
import { ZServerName, type TAddServer } from "./schemas";
import { fleetTiming } from "./timing";
import { reconvergeServer } from "@/lib/deployments/converge";
import { deploymentRoutesChanged } from "@/lib/deployments/route-changes";
import { announceCredentialChange, forgetServerCredentials } from "./credential-cache";

export type ServerState = "pending" | "online" | "offline" | "draining" | "disabled";

export type ServerView = {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: ServerState;
  adminState: "active" | "draining" | "disabled";
  connectivity: "never_seen" | "online" | "offline";
  enrolled: boolean;
  enrolmentExpiresAt: string | null;
  lastSeenAt: string | null;
  agentVersion: string | null;
  hostname: string | null;
  inventory: Inventory | null;
  generation: number;
  observedGeneration: number | null;
  rotationRequested: boolean;
  createdBy: string;
  createdAt: string;
};

/** What a person sees: an admin's choice (draining, disabled) wins over connectivity. */
export function serverState(server: Pick<Server, "adminState" | "connectivity" | "enrolledAt">): ServerState {
  if (server.adminState === "DISABLED") return "disabled";
  if (server.adminState === "DRAINING") return "draining";
  if (!server.enrolledAt || server.connectivity === "NEVER_SEEN") return "pending";
  return server.connectivity === "ONLINE" ? "online" : "offline";
}

export function serverView(server: Server): ServerView {
  return {
    id: server.id,
    name: server.name,
    labels: server.labels as Record<string, string>,
    state: serverState(server),
    adminState: server.adminState.toLowerCase() as ServerView["adminState"],
    connectivity: server.connectivity.toLowerCase() as ServerView["connectivity"],
    enrolled: server.enrolledAt !== null,
    enrolmentExpiresAt: server.enrolmentTokenHash ? (server.enrolmentExpiresAt?.toISOString() ?? null) : null,
    lastSeenAt: server.lastSeenAt?.toISOString() ?? null,
    agentVersion: server.agentVersion,
    hostname: server.hostname,
    inventory: server.inventory as Inventory | null,
    generation: server.generation,
    observedGeneration: server.observedGeneration,
    rotationRequested: server.rotationRequested,
    createdBy: server.createdBy,
    createdAt: server.createdAt.toISOString(),
  };
}

export function notFoundServer(name: string) {
  return new BerthError("not_found", `No server named "${name}"`);
}

function assertServerName(name: string) {
  if (!ZServerName.safeParse(name).success) throw notFoundServer(name);
  return name;
}

/** The ways to start the agent on the host, each ready to paste. */
export function enrolmentCommands(options: { url: string; token: string; name: string }) {
  const { url, token } = options;
  return {
    npx: `npx berth agent --url ${url} --token ${token}`,
    // The bundle needs only node on the host; the control plane serves it (server/http.ts).
    bundle: `curl -fsSLO ${url}/downloads/berth-agent.mjs && node berth-agent.mjs --url ${url} --token ${token}`,
    systemd: [
      `# curl -fsSL -o /opt/berth/berth-agent.mjs ${url}/downloads/berth-agent.mjs`,
      "# /etc/systemd/system/berth-agent.service",
      "[Unit]",
      "Description=Berth agent",
      "After=network-online.target docker.service",
      "Wants=network-online.target",
      "",
      "[Service]",
      `ExecStart=/usr/bin/node /opt/berth/berth-agent.mjs --url ${url} --token ${token} --state-dir /var/lib/berth-agent`,
      "Restart=always",
      "RestartSec=5",
      "",
      "[Install]",
      "WantedBy=multi-user.target",
    ].join("\n"),
    // The state folder is bind-mounted at the same path: the agent mounts cached models into
    // inference containers by host path. Host networking: readiness probes reach published ports.
    docker: `docker run -d --name berth-agent --restart unless-stopped --network host -v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/berth-agent:/var/lib/berth-agent berth-agent --url ${url} --token ${token} --state-dir /var/lib/berth-agent`,
  };
}

async function newEnrolmentToken(ttlMinutes: number) {
  const token = generateSecret(ENROLMENT_TOKEN_PREFIX);
  return { token, hash: hashSecret(token), expiresAt: new Date(Date.now() + ttlMinutes * 60_000) };
}

export async function addServer(options: { actor: Actor; request: RequestContext; input: TAddServer }): Promise<{ server: ServerView; enrolmentToken: string }> {
  const { input } = options;
  const enrolment = await newEnrolmentToken(input.enrolmentTtlMinutes);
  const server = await getDb().$transaction(async (tx) => {
    if (await tx.server.findUnique({ where: { name: input.name }, select: { id: true } })) {
      throw new BerthError("conflict", `A server named "${input.name}" already exists`);
    }
    const created = await tx.server.create({
      data: {
        name: input.name,
        labels: input.labels as Prisma.InputJsonObject,
        enrolmentTokenHash: enrolment.hash,
        enrolmentExpiresAt: enrolment.expiresAt,
        createdBy: options.actor.label,
      },
    });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "server.add",
      target: { kind: "server", id: created.id, label: created.name },
      details: { labels: input.labels, enrolmentExpiresAt: enrolment.expiresAt.toISOString() },
    });
    return created;
  });
  return { server: serverView(server), enrolmentToken: enrolment.token };
}

/** A fresh one-time enrolment token (the old one stops working), e.g. after expiry or to re-install a host. */
export async function issueEnrolmentToken(options: { actor: Actor; request: RequestContext; name: string; ttlMinutes: number }) {
  const name = assertServerName(options.name);
  const enrolment = await newEnrolmentToken(options.ttlMinutes);
  const server = await getDb().$transaction(async (tx) => {
    const existing = await tx.server.findUnique({ where: { name } });
    if (!existing) throw notFoundServer(name);
    const updated = await tx.server.update({ where: { id: existing.id }, data: { enrolmentTokenHash: enrolment.hash, enrolmentExpiresAt: enrolment.expiresAt } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "server.enrolment_token",
      target: { kind: "server", id: existing.id, label: existing.name },
      details: { enrolmentExpiresAt: enrolment.expiresAt.toISOString() },
    });
    return updated;
  });
  return { server: serverView(server), enrolmentToken: enrolment.token };
}

export async function listServers(): Promise<ServerView[]> {
  return (await getDb().server.findMany({ orderBy: { name: "asc" } })).map(serverView);
}

export async function getServer(name: string): Promise<ServerView> {
  const server = await getDb().server.findUnique({ where: { name: assertServerName(name) } });
  if (!server) throw notFoundServer(name);
  return serverView(server);
}

/** The server's history: every audit event about it, newest first. */
export async function serverHistory(serverId: string, limit = 50) {
  // By id: a name can be reused after removal, an id cannot.
  return (await listAuditEvents({ filter: { target: serverId }, limit })).events;
}

const ACTIONS = {
  drain: { adminState: "DRAINING", audit: "server.drain" },
  disable: { adminState: "DISABLED", audit: "server.disable" },
  activate: { adminState: "ACTIVE", audit: "server.activate" },
} as const;

export async function setServerAdminState(options: { actor: Actor; request: RequestContext; name: string; action: keyof typeof ACTIONS }): Promise<ServerView> {
  const name = assertServerName(options.name);
  const change = ACTIONS[options.action];
  let moved: string[] = [];
  const view = await getDb().$transaction(async (tx) => {
    const before = await tx.server.findUnique({ where: { name } });
    if (!before) throw notFoundServer(name);
    const server = await tx.server.update({ where: { id: before.id }, data: { adminState: change.adminState } });
    // Disabled means nothing runs there: its replicas move; draining keeps them but takes no new ones.
    if (change.adminState === "DISABLED" || before.adminState === "DISABLED") moved = await reconvergeServer(tx, server.id, {});
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: change.audit,
      target: { kind: "server", id: server.id, label: server.name },
      details: { from: before.adminState.toLowerCase(), to: server.adminState.toLowerCase() },
    });
    return serverView(server);
  });
  for (const id of moved) deploymentRoutesChanged(id);
  return view;
}

/**
 * Removes the server; its credential stops working with the next request, in
 * every control-plane process (the NOTIFY evicts it from their credential caches on commit).
 */
export async function removeServer(options: { actor: Actor; request: RequestContext; name: string }): Promise<void> {
  const name = assertServerName(options.name);
  const removed = await getDb().$transaction(async (tx) => {
    const server = await tx.server.findUnique({ where: { name } });
    if (!server) throw notFoundServer(name);
    const changed = await reconvergeServer(tx, server.id, { removedBy: options.actor.label });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "server.remove",
      target: { kind: "server", id: server.id, label: server.name },
      details: { hostname: server.hostname, agentLockedOut: server.credentialHash !== null, deploymentsMoved: changed.length },
    });
    await announceCredentialChange(tx, server.id);
    return { serverId: server.id, moved: changed };
  });
  forgetServerCredentials(removed.serverId);
  for (const id of removed.moved) deploymentRoutesChanged(id);
}

/**
 * Asks the agent to swap its credential: its next heartbeat is told to
 * fetch a new one, and the old one stops working once the new one is used.
 */
export async function requestCredentialRotation(options: { actor: Actor; request: RequestContext; name: string }): Promise<ServerView> {
  const name = assertServerName(options.name);
  return getDb().$transaction(async (tx) => {
    const server = await tx.server.findUnique({ where: { name } });
    if (!server) throw notFoundServer(name);
    if (!server.credentialHash) throw new BerthError("conflict", `Server "${name}" has not enrolled yet, so it has no credential to rotate`);
    const updated = await tx.server.update({ where: { id: server.id }, data: { rotationRequested: true } });
    await recordAuditEvent(tx, {
      actor: auditActor(options.actor),
      request: options.request,
      action: "server.credential_rotation_requested",
      target: { kind: "server", id: server.id, label: server.name },
      details: { heartbeatSeconds: fleetTiming().heartbeatSeconds },
    });
    return serverView(updated);
  });
}
