import { Gauge, type Registry } from "prom-client";
import { getPool } from "@/lib/db/client";

/**
 * Gauges of what the database holds (fleet, deployments, audit chain) and of
 * the database connection pool, read when Prometheus scrapes: a few small
 * aggregate queries per scrape, so every control-plane replica reports the
 * same truth without keeping counters in step.
 */
// A scrape must still answer when the database does not: each gauge then
// stays empty and berth_database_up says why.
async function query<T extends object>(sql: string): Promise<T[]> {
  try {
    return (await getPool().query<T>(sql)).rows;
  } catch {
    return [];
  }
}

export function registerStateGauges(registry: Registry): void {
  new Gauge({
    name: "berth_database_up",
    help: "1 when this process reaches its PostgreSQL database, else 0",
    registers: [registry],
    async collect() {
      this.set((await query<{ one: number }>("SELECT 1 AS one")).length);
    },
  });
  new Gauge({
    name: "berth_servers",
    help: "Enrolled and pending servers, by state (online, offline, draining, disabled, pending)",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      const rows = await query<{ state: string; n: string }>(`
        SELECT CASE WHEN admin_state = 'DISABLED' THEN 'disabled'
                    WHEN admin_state = 'DRAINING' THEN 'draining'
                    WHEN enrolled_at IS NULL OR connectivity = 'NEVER_SEEN' THEN 'pending'
                    WHEN connectivity = 'ONLINE' THEN 'online' ELSE 'offline' END AS state,
               count(*)::text AS n
          FROM servers GROUP BY 1`);
      this.reset();
      for (const state of ["online", "offline", "draining", "disabled", "pending"]) this.set({ state }, 0);
      for (const row of rows) this.set({ state: row.state }, Number(row.n));
    },
  });
  new Gauge({
    name: "berth_agent_last_heartbeat_age_seconds",
    help: "Seconds since each enrolled server's agent last reported",
    labelNames: ["server"],
    registers: [registry],
    async collect() {
      const rows = await query<{ name: string; age: number }>(`SELECT name, extract(epoch FROM now() - last_seen_at)::float8 AS age FROM servers WHERE last_seen_at IS NOT NULL`);
      this.reset();
      for (const row of rows) this.set({ server: row.name }, row.age);
    },
  });
  new Gauge({
    name: "berth_replicas",
    help: "Replicas by deployment and phase",
    labelNames: ["deployment", "phase"],
    registers: [registry],
    async collect() {
      const rows = await query<{ deployment: string; phase: string; n: string }>(
        `SELECT d.name AS deployment, lower(r.phase::text) AS phase, count(*)::text AS n FROM replicas r JOIN deployments d ON d.id = r.deployment_id GROUP BY 1, 2`,
      );
      this.reset();
      for (const row of rows) this.set({ deployment: row.deployment, phase: row.phase }, Number(row.n));
    },
  });
  new Gauge({
    name: "berth_deployments",
    help: "Deployments by desired state (running, stopped, deleting)",
    labelNames: ["desired_state"],
    registers: [registry],
    async collect() {
      const rows = await query<{ state: string; n: string }>(`SELECT lower(desired_state::text) AS state, count(*)::text AS n FROM deployments GROUP BY 1`);
      this.reset();
      for (const row of rows) this.set({ desired_state: row.state }, Number(row.n));
    },
  });
  new Gauge({
    name: "berth_audit_head_seq",
    help: "The newest audit event's seq (its rate is audited actions per second)",
    registers: [registry],
    async collect() {
      const rows = await query<{ seq: string | null }>(`SELECT max(seq)::text AS seq FROM audit_events`);
      if (rows[0]) this.set(Number(rows[0].seq ?? 0));
    },
  });
  new Gauge({
    name: "berth_db_pool_connections",
    help: "This process's PostgreSQL connections: total, idle, and requests waiting for one",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      let pool;
      try {
        pool = getPool();
      } catch {
        return;
      }
      this.set({ state: "total" }, pool.totalCount);
      this.set({ state: "idle" }, pool.idleCount);
      this.set({ state: "waiting" }, pool.waitingCount);
    },
  });
}
