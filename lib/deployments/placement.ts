import type { Server } from "@prisma/client";
import type { Inventory } from "@/lib/protocol/agent";
import { getDb, type Tx } from "@/lib/db/client";
import { asSql, type Sql } from "@/lib/db/sql";
import { serverState } from "@/lib/fleet/servers";
import { BerthError } from "@/lib/http/errors";

export type Placement = { servers: string[] } | { selector: Record<string, string> };
export type Resources = { cpus: number | null; memoryBytes: number | null; gpus: number };

/** What placement reads of a server. */
export type PlacementServer = Pick<Server, "id" | "name" | "labels" | "adminState" | "connectivity" | "enrolledAt" | "inventory">;

/** Why a server cannot take a replica, in words an operator acts on; null when it can. */
export function unfitReason(server: PlacementServer, resources: Resources): string | null {
  if (server.adminState === "DISABLED") return `server "${server.name}" is disabled`;
  if (server.adminState === "DRAINING") return `server "${server.name}" is draining (no new work)`;
  if (!server.enrolledAt) return `server "${server.name}" has not enrolled an agent yet`;
  if (server.connectivity !== "ONLINE") return `server "${server.name}" is offline`;
  const inventory = server.inventory as Inventory | null;
  if (inventory && !inventory.docker.available) return `server "${server.name}" reports no working Docker Engine (${inventory.docker.error ?? "unavailable"})`;
  if (resources.gpus > 0) {
    const gpus = inventory?.gpus.length ?? 0;
    if (gpus < resources.gpus) return `server "${server.name}" has ${gpus} GPU${gpus === 1 ? "" : "s"}; the deployment asks for ${resources.gpus}`;
  }
  if (resources.memoryBytes !== null && inventory && inventory.memory.totalBytes < resources.memoryBytes) {
    return `server "${server.name}" has ${formatGiB(inventory.memory.totalBytes)} of memory; the deployment asks for ${formatGiB(resources.memoryBytes)} per replica`;
  }
  if (resources.cpus !== null && inventory && inventory.cpu.cores < resources.cpus) {
    return `server "${server.name}" has ${inventory.cpu.cores} CPU cores; the deployment asks for ${resources.cpus}`;
  }
  return null;
}

function formatGiB(bytes: number) {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function matches(labels: Record<string, string>, selector: Record<string, string>) {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * The servers a deployment may run on, or a refusal naming every reason.
 * Explicit servers must all be fit (the operator asked for each by name);
 * with a selector, unfit matches are skipped as long as one fits.
 */
const PLACEMENT_COLUMNS = `id, name, labels, admin_state AS "adminState", connectivity, enrolled_at AS "enrolledAt", inventory`;

export async function eligibleServers(tx: Tx | Sql, placement: Placement, resources: Resources): Promise<PlacementServer[]> {
  const sql = asSql(tx);
  if ("servers" in placement) {
    const found = await sql.query<PlacementServer>(`SELECT ${PLACEMENT_COLUMNS} FROM servers WHERE name = ANY($1::text[])`, [placement.servers]);
    const missing = placement.servers.filter((name) => !found.some((s) => s.name === name));
    if (missing.length > 0) throw new BerthError("unprocessable", `No server named ${missing.map((n) => `"${n}"`).join(", ")}`);
    const reasons = found.map((server) => unfitReason(server, resources)).filter((r): r is string => r !== null);
    if (reasons.length > 0) throw new BerthError("unprocessable", `Cannot place the deployment: ${reasons.join("; ")}`, { reasons });
    return placement.servers.map((name) => found.find((s) => s.name === name)!);
  }
  const all = await sql.query<PlacementServer>(`SELECT ${PLACEMENT_COLUMNS} FROM servers ORDER BY name`);
  const matching = all.filter((server) => matches(server.labels as Record<string, string>, placement.selector));
  const selector = Object.entries(placement.selector).map(([k, v]) => `${k}=${v}`).join(",");
  if (matching.length === 0) throw new BerthError("unprocessable", `No server matches the selector ${selector}`);
  const fit = matching.filter((server) => unfitReason(server, resources) === null);
  if (fit.length === 0) {
    const reasons = matching.map((server) => unfitReason(server, resources)!);
    throw new BerthError("unprocessable", `Cannot place the deployment: every server matching ${selector} is unfit: ${reasons.join("; ")}`, { reasons });
  }
  return fit;
}

/** Spread: the candidate with the fewest of this deployment's replicas, then the fewest overall. */
export function pickServer<S extends PlacementServer>(candidates: S[], replicasOfDeployment: Map<string, number>, replicasOverall: Map<string, number>, prefer?: string): S {
  if (prefer) {
    const preferred = candidates.find((s) => s.id === prefer);
    if (preferred) return preferred;
  }
  return [...candidates].sort(
    (a, b) =>
      (replicasOfDeployment.get(a.id) ?? 0) - (replicasOfDeployment.get(b.id) ?? 0) ||
      (replicasOverall.get(a.id) ?? 0) - (replicasOverall.get(b.id) ?? 0) ||
      a.name.localeCompare(b.name),
  )[0]!;
}

export type ServerChoice = { name: string; state: string; labels: Record<string, string>; gpus: number; memoryTotalBytes: number | null; cores: number | null; unfit: string | null };

/** Every server with what a person choosing placement needs, and why it cannot take work if it cannot. */
export async function serverChoices(): Promise<ServerChoice[]> {
  const servers = await getDb().server.findMany({ orderBy: { name: "asc" } });
  return servers.map((server) => {
    const inventory = server.inventory as Inventory | null;
    return {
      name: server.name,
      state: serverState(server),
      labels: server.labels as Record<string, string>,
      gpus: inventory?.gpus.length ?? 0,
      memoryTotalBytes: inventory?.memory.totalBytes ?? null,
      cores: inventory?.cpu.cores ?? null,
      unfit: unfitReason(server, { cpus: null, memoryBytes: null, gpus: 0 }),
    };
  });
}
