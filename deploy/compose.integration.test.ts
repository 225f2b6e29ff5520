/**
 * docker-compose.yml as Compose itself reads it: `docker compose config` (v2)
 * or `docker-compose config` (1.29, which scripts/provision.sh installs from
 * Debian's packages), with .env.example filled in as docs/install.md says.
 * Asserts the properties the single-host install depends on: the services and
 * volumes, health checks, restart policies, start order, and that the pieces
 * agree with each other (DATABASE_URL and PostgreSQL's settings, the agent's
 * state folder at one path inside and out, the agent's URL and the published
 * port, the agent image's tag and the enrolment `docker run` line's).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { agentImageTag } from "@/lib/protocol/agent";
import { BERTH_VERSION } from "@/lib/version";

const root = path.resolve(import.meta.dirname, "..");
const work = mkdtempSync(path.join(os.tmpdir(), "berth-compose-it-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `docker compose` when the v2 plugin is there, else `docker-compose`; neither is a failure, not a skip. */
function composeCommand(): string[] {
  if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) return ["docker", "compose"];
  if (spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0) return ["docker-compose"];
  throw new Error("neither `docker compose` nor `docker-compose` is installed: bash scripts/provision.sh docker-compose");
}
const compose = composeCommand();

// Only what Compose needs from the environment: a value set in the test's own
// environment would override .env and hide a missing one.
const cleanEnv: NodeJS.ProcessEnv = { NODE_ENV: "test", PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? work, ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}) };

function config(env: Record<string, string>): { status: number; stdout: string; stderr: string } {
  const example = readFileSync(path.join(root, ".env.example"), "utf8");
  // As a person would: fill in the lines of .env.example, keep the rest.
  const filled = example
    .split("\n")
    .map((line) => {
      const key = /^([A-Z_]+)=/.exec(line)?.[1];
      return key && key in env ? `${key}=${env[key]}` : line;
    })
    .join("\n");
  const envFile = path.join(work, `env-${Math.random().toString(36).slice(2)}`);
  writeFileSync(envFile, filled);
  const [command, ...args] = compose;
  const result = spawnSync(command!, [...args, "--env-file", envFile, "-f", path.join(root, "docker-compose.yml"), "config"], { cwd: work, env: cleanEnv, encoding: "utf8" });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  user?: string;
  network_mode?: string;
  group_add?: (string | number)[];
  command?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: (string | { target: number; published: string | number; host_ip?: string })[];
  volumes?: (string | { type: string; source: string; target: string })[];
};
type Config = { services: Record<string, Service>; volumes?: Record<string, unknown> };

/** Volumes as source → target, from v1's "src:dst:rw" strings or v2's objects. */
function mounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== "string") return { source: v.source, target: v.target };
    const [source, target] = v.split(":") as [string, string];
    return { source, target };
  });
}

/** Published ports as { hostIp, published, target }, from v1's "ip:host:container/tcp" strings or v2's objects. */
function ports(service: Service) {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== "string") return { hostIp: p.host_ip ?? "", published: Number(p.published), target: p.target };
    const [hostIp, published, target] = p.replace(/\/tcp$/, "").split(":") as [string, string, string];
    return { hostIp, published: Number(published), target: Number(target) };
  });
}

const REQUIRED = { POSTGRES_PASSWORD: "c0ffee42deadbeef", DOCKER_GID: "994" };

describe("docker-compose.yml", () => {
  it("refuses to start without the required settings, naming each", () => {
    const bare = config({});
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toContain("POSTGRES_PASSWORD");
    const noGid = config({ POSTGRES_PASSWORD: REQUIRED.POSTGRES_PASSWORD });
    expect(noGid.status).not.toBe(0);
    expect(noGid.stderr).toContain("DOCKER_GID");
  });

  it("validates with .env.example filled in, and its parts agree with each other", () => {
    const stateDir = "/srv/berth-agent-state";
    const result = config({ ...REQUIRED, BERTH_PORT: "8443", BERTH_AGENT_STATE_DIR: stateDir, BERTH_ENROLMENT_TOKEN: "berth_enrol_fromdotenv", BERTH_ADMIN_EMAIL: "ops@example.com", BERTH_ADMIN_PASSWORD: "a long passphrase" });
    expect(result.status, result.stderr).toBe(0);
    const { services, volumes } = parse(result.stdout) as Config;
    expect(Object.keys(services).sort()).toEqual(["agent", "agent-state", "control-plane", "postgres"]);
    expect(Object.keys(volumes ?? {}).sort()).toEqual(["berth-data", "postgres-data"]);
    const { postgres, "control-plane": cp, agent, "agent-state": agentState } = services as Record<string, Service>;

    // Long-running services come back after a crash or a reboot; the one-shot does not rerun.
    expect([postgres!.restart, cp!.restart, agent!.restart]).toEqual(["unless-stopped", "unless-stopped", "unless-stopped"]);
    expect(agentState!.restart).toBe("no");

    // PostgreSQL: its data on a named volume, healthy when pg_isready says so for Berth's user and database.
    expect(mounts(postgres!)).toContainEqual({ source: "postgres-data", target: "/var/lib/postgresql/data" });
    expect(postgres!.healthcheck?.test).toEqual(["CMD", "pg_isready", "-U", postgres!.environment!.POSTGRES_USER, "-d", postgres!.environment!.POSTGRES_DB]);
    expect(postgres!.ports ?? []).toEqual([]);

    // The control plane: DATABASE_URL names that server with its credentials; the data folder is the named volume.
    const db = new URL(cp!.environment!.DATABASE_URL!);
    expect([db.protocol, db.hostname, db.port, decodeURIComponent(db.username), decodeURIComponent(db.password), db.pathname]).toEqual([
      "postgresql:",
      "postgres",
      "5432",
      postgres!.environment!.POSTGRES_USER,
      REQUIRED.POSTGRES_PASSWORD,
      `/${postgres!.environment!.POSTGRES_DB}`,
    ]);
    expect(mounts(cp!)).toContainEqual({ source: "berth-data", target: cp!.environment!.BERTH_DATA_DIR! });
    expect(cp!.depends_on?.postgres).toMatchObject({ condition: "service_healthy" });
    expect([cp!.environment!.BERTH_ADMIN_EMAIL, cp!.environment!.BERTH_ADMIN_PASSWORD]).toEqual(["ops@example.com", "a long passphrase"]);
    const published = ports(cp!);
    expect(published).toEqual([{ hostIp: "0.0.0.0", published: 8443, target: 3000 }]);
    // Its health check asks /api/health on the port the container listens on.
    const check = cp!.healthcheck!.test;
    expect(check.slice(0, 3)).toEqual(["CMD", "node", "scripts/healthcheck.mjs"]);
    const checked = new URL(check[3]!);
    expect([checked.hostname, Number(checked.port), checked.pathname]).toEqual(["127.0.0.1", published[0]!.target, "/api/health"]);

    // The agent: the image the enrolment line runs, on the host's network, the socket's group,
    // the state folder at the same path inside and out, and the published port as its URL.
    expect(agent!.image).toBe(agentImageTag(BERTH_VERSION));
    expect(agentState!.image).toBe(agent!.image);
    expect(agent!.network_mode).toBe("host");
    expect(agent!.group_add?.map(String)).toEqual([REQUIRED.DOCKER_GID]);
    expect(mounts(agent!)).toContainEqual({ source: "/var/run/docker.sock", target: "/var/run/docker.sock" });
    expect(mounts(agent!)).toContainEqual({ source: stateDir, target: stateDir });
    expect(agent!.environment!.BERTH_AGENT_STATE_DIR).toBe(stateDir);
    expect(agent!.environment!.BERTH_ENROLMENT_TOKEN).toBe("berth_enrol_fromdotenv");
    expect(new URL(agent!.environment!.BERTH_URL!)).toMatchObject({ hostname: "127.0.0.1", port: "8443" });
    expect(agent!.command).toEqual(["--bind-address", "172.17.0.1", "--advertise-address", "172.17.0.1"]);
    expect(agent!.depends_on).toMatchObject({ "control-plane": { condition: "service_healthy" }, "agent-state": { condition: "service_completed_successfully" } });
    // The one-shot makes that same folder the agent's (uid 10001).
    expect(mounts(agentState!)).toEqual([{ source: stateDir, target: stateDir }]);
    expect(agentState!.command).toEqual([stateDir]);
    expect(agentState!.user).toBe("0:0");

    // What it builds exists.
    for (const service of [cp!, agent!, agentState!]) expect(existsSync(path.join(service.build!.context, service.build!.dockerfile)), service.build!.dockerfile).toBe(true);
  });
});

describe("the control plane's health check (scripts/healthcheck.mjs)", () => {
  function runCheck(args: string[], env: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(root, "scripts/healthcheck.mjs"), ...args], { stdio: "ignore", env: { ...process.env, ...env } });
      child.on("exit", (code) => resolve(code ?? -1));
    });
  }

  it("passes on 200 from /api/health, fails on 503 and on a refused connection; with no URL it asks BERTH_PORT, as the Dockerfile's HEALTHCHECK calls it", async () => {
    const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^HEALTHCHECK .*CMD \["node", "scripts\/healthcheck\.mjs"\]$/m);
    let status = 200;
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.url!);
      res.writeHead(status, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/api/health`;
    try {
      expect(await runCheck([url])).toBe(0);
      expect(await runCheck([], { BERTH_PORT: String(port) })).toBe(0);
      status = 503;
      expect(await runCheck([url])).toBe(1);
      expect(seen).toEqual(["/api/health", "/api/health", "/api/health"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await runCheck([url])).toBe(1);
  });
});
