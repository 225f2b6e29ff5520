import type { Prisma, Server } from "@prisma/client";
import { getDb } from "@/lib/db/client";
import { BerthError } from "@/lib/http/errors";
import { recordAuditEvent } from "@/lib/audit/record-event";
import { listAuditEvents } from "@/lib/audit/list-events";
import { auditActor, type Actor, type RequestContext } from "@/lib/auth/actor";
import { generateSecret, hashSecret } from "@/lib/auth/secrets";
import { AGENT_IMAGE_DOWNLOAD_PATH, agentImageTag, ENROLMENT_TOKEN_PREFIX, type Inventory } from "@/lib/protocol/agent";
import { BERTH_VERSION } from "@/lib/version";
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

/**
 * The agent's systemd unit. deploy/systemd/berth-agent.service is this text,
 * byte for byte (a test compares them): the file is what docs/install.md
 * installs, this is what the enrolment commands print. The unit carries no
 * per-host value; URL and token come from /etc/berth/agent.env, so the one-time
 * token stays out of a world-readable unit file and out of `ps`.
 */
export const AGENT_SYSTEMD_UNIT = `# Berth host agent. The same unit is printed with every enrolment token; docs/install.md.
# Settings in /etc/berth/agent.env (mode 0600):
#   BERTH_URL=https://berth.example.internal
#   BERTH_ENROLMENT_TOKEN=berth_enrol_...   (used once; the agent then keeps its own credential)
[Unit]
Description=Berth host agent
After=network-online.target docker.service
Wants=network-online.target

[Service]
User=berth-agent
Group=berth-agent
# The Docker socket's group. Access to the socket is root-equivalent: trust the agent as root.
SupplementaryGroups=docker
EnvironmentFile=/etc/berth/agent.env
# /var/lib/berth-agent, owned by the agent's user. Cached models are mounted into
# inference containers from here by host path, so it stays at a fixed path.
StateDirectory=berth-agent
StateDirectoryMode=0700
ExecStart=/usr/bin/node /opt/berth/berth-agent.mjs --state-dir /var/lib/berth-agent
Restart=always
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
`;

/**
 * A word for a POSIX shell: as is when it holds only safe characters, else
 * single-quoted. The URL can come from the request's Host header; whatever it
 * holds must stay one argument and never run.
 */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The ways to start the agent on the host, each ready to paste. */
export function enrolmentCommands(options: { url: string; token: string; name: string }) {
  const url = shellWord(options.url);
  const token = shellWord(options.token);
  const download = (file: string) => shellWord(`${options.url}${file}`);
  return {
    npx: `npx berth agent --url ${url} --token ${token}`,
    // The bundle needs only node on the host; the control plane serves it (server/http.ts).
    bundle: `curl -fsSLO ${download("/downloads/berth-agent.mjs")} && node berth-agent.mjs --url ${url} --token ${token}`,
    systemd: [
      "# As root on the host. The single-file agent (needs node 20 or newer at /usr/bin/node):",
      `install -d -m 0755 /opt/berth && curl -fsSL -o /opt/berth/berth-agent.mjs ${download("/downloads/berth-agent.mjs")}`,
      "# Its user, and its settings (mode 0600: the token stays out of the unit and of ps):",
      "id -u berth-agent >/dev/null 2>&1 || useradd --system --home-dir /var/lib/berth-agent --shell /usr/sbin/nologin berth-agent",
      `install -d -m 0755 /etc/berth && (umask 077 && printf 'BERTH_URL=%s\\nBERTH_ENROLMENT_TOKEN=%s\\n' ${url} ${token} > /etc/berth/agent.env)`,
      "# The unit (deploy/systemd/berth-agent.service), then start it:",
      "cat > /etc/systemd/system/berth-agent.service <<'UNIT'",
      AGENT_SYSTEMD_UNIT.trimEnd(),
      "UNIT",
      "systemctl daemon-reload && systemctl enable --now berth-agent",
    ].join("\n"),
    // The control plane serves the agent's image (built from its own files: no registry needed).
    // It runs as uid 10001 with the socket's group; the state folder is bind-mounted at the same
    // path, because the agent mounts cached models into inference containers by host path. Host
    // networking: its readiness probes reach published ports on 127.0.0.1 and it advertises the
    // host's address. The token goes in by environment, out of `ps`.
    docker: [
      "install -d -o 10001 -g 10001 -m 0700 /var/lib/berth-agent",
      `curl -fsSL ${download(AGENT_IMAGE_DOWNLOAD_PATH)} | docker load`,
      `docker run -d --name berth-agent --restart unless-stopped --network host --group-add "$(stat -c %g /var/run/docker.sock)" -v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/berth-agent:/var/lib/berth-agent -e BERTH_ENROLMENT_TOKEN=${token} ${agentImageTag(BERTH_VERSION)} --url ${url}`,
    ].join(" && "),
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
