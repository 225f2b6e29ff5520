import type { DeploymentDesiredState, RuntimeProtocol } from "@prisma/client";
import { getPool } from "@/lib/db/client";

/**
 * The gateway's routing table: for each deployment, the replicas that may
 * take traffic. Read from the database and kept in-process for at most
 * ROUTES_TTL_MS per deployment, so a busy deployment costs about one query a
 * second, not one per request. The deployments code drops an entry the moment
 * a replica leaves rotation (`invalidateDeploymentRoutes`).
 *
 * The cache lives on globalThis: Next's bundled route handlers and server/
 * load this module separately in the one process, and an invalidation from
 * either must reach the table the gateway reads.
 */
export const ROUTES_TTL_MS = 1_000;

export type RoutedReplica = { id: string; endpoint: string };

export type DeploymentRoutes = {
  id: string;
  name: string;
  desiredState: DeploymentDesiredState;
  protocol: RuntimeProtocol;
  modelName: string;
  /** READY, desired, with an endpoint; ordered by id so round robin is stable across refreshes. */
  replicas: RoutedReplica[];
};

type Entry = { routes: DeploymentRoutes | null; loadedAt: number; epoch: number };

type State = {
  byName: Map<string, Entry>;
  inflight: Map<string, Promise<DeploymentRoutes | null>>;
  /** Bumped by every invalidation, so a read that started before one is not cached after it. */
  epoch: number;
  /** Round-robin position per deployment id; survives refreshes. */
  cursor: Map<string, number>;
};

const holder = globalThis as unknown as { __berthGatewayRoutes?: State };
function state(): State {
  holder.__berthGatewayRoutes ??= { byName: new Map(), inflight: new Map(), epoch: 0, cursor: new Map() };
  return holder.__berthGatewayRoutes;
}

type RouteRow = { id: string; name: string; desired_state: DeploymentDesiredState; protocol: RuntimeProtocol; model: string; replica_id: string | null; endpoint: string | null };

// One statement, through plain pg: bench/gateway measured this read at 6-8 ms of CPU
// through Prisma's client engine and 0.3-0.4 ms through pg.
const ROUTES_SQL = `
  SELECT d.id, d.name, d.desired_state, r.protocol, m.name AS model, rep.id AS replica_id, rep.endpoint
    FROM deployments d
    JOIN runtimes r ON r.id = d.runtime_id
    JOIN model_versions v ON v.id = d.model_version_id
    JOIN models m ON m.id = v.model_id
    LEFT JOIN replicas rep ON rep.deployment_id = d.id AND rep.desired AND rep.phase = 'READY' AND rep.endpoint IS NOT NULL
   WHERE d.name = $1
   ORDER BY rep.id`;

/** One read of a deployment's routes from the database (uncached). */
export async function readDeploymentRoutes(name: string): Promise<DeploymentRoutes | null> {
  const { rows } = await getPool().query<RouteRow>(ROUTES_SQL, [name]);
  const first = rows[0];
  if (!first) return null;
  return {
    id: first.id,
    name: first.name,
    desiredState: first.desired_state,
    protocol: first.protocol,
    modelName: first.model,
    replicas: rows.filter((r) => r.replica_id !== null && r.endpoint !== null && isHttpEndpoint(r.endpoint)).map((r) => ({ id: r.replica_id!, endpoint: r.endpoint! })),
  };
}

/** Agents report endpoints; only plain http(s) origins are ever dialled. */
export function isHttpEndpoint(endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    return (url.protocol === "http:" || url.protocol === "https:") && url.username === "" && url.password === "";
  } catch {
    return false;
  }
}

/** The routes of the deployment called `name`, or null when there is none. */
export async function routesFor(name: string, now = Date.now()): Promise<DeploymentRoutes | null> {
  const s = state();
  const cached = s.byName.get(name);
  if (cached && cached.epoch === s.epoch && now - cached.loadedAt < ROUTES_TTL_MS) return cached.routes;
  const pending = s.inflight.get(name);
  if (pending) return pending;
  const epoch = s.epoch;
  const loading = readDeploymentRoutes(name)
    .then((routes) => {
      if (s.epoch === epoch) s.byName.set(name, { routes, loadedAt: Date.now(), epoch });
      return routes;
    })
    .finally(() => {
      if (s.inflight.get(name) === loading) s.inflight.delete(name);
    });
  s.inflight.set(name, loading);
  return loading;
}

/**
 * Drops the cached routes of a deployment (by id): call it right after a
 * replica leaves rotation (stopped, unhealthy, deleted) or joins it, once the
 * change is committed. Any read already in flight is not cached. A deployment
 * that is being called (its routes were cached) has them read again at once,
 * so its next request finds the replica that just turned ready without
 * waiting for the database.
 */
export function invalidateDeploymentRoutes(deploymentId: string): void {
  const s = state();
  s.epoch++;
  const called: string[] = [];
  for (const [name, entry] of s.byName) {
    if (entry.routes && entry.routes.id !== deploymentId) continue;
    s.byName.delete(name);
    if (entry.routes) called.push(name);
  }
  s.inflight.clear();
  // A failed read is not cached: the next request reads again.
  for (const name of called) routesFor(name).catch(() => {});
}

/** Drops every cached route (tests, and a deployment renamed or recreated under the same name). */
export function invalidateAllRoutes(): void {
  const s = state();
  s.epoch++;
  s.byName.clear();
  s.inflight.clear();
}

/**
 * The replicas to try for one request, in order: round robin across the
 * ready ones, then the others as fall-backs for a retry.
 */
export function replicaOrder(routes: DeploymentRoutes): RoutedReplica[] {
  const n = routes.replicas.length;
  if (n === 0) return [];
  const s = state();
  const position = s.cursor.get(routes.id) ?? 0;
  s.cursor.set(routes.id, (position + 1) % 1_000_000_007);
  const start = position % n;
  return [...routes.replicas.slice(start), ...routes.replicas.slice(0, start)];
}
