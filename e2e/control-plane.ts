import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A second control-plane process on the e2e server's database (DATABASE_URL),
 * so this test can really stop and restart the control plane its agent talks
 * to without disturbing the other tests.
 */
export async function startReplica(port: number): Promise<ChildProcess> {
  const data = process.env.BERTH_E2E_DATA_DIR!;
  const password = readFileSync(path.join(data, "secrets", "postgres-password"), "utf8").trim();
  const pgPort = readFileSync(path.join(data, "postgres", "postmaster.pid"), "utf8").split("\n")[3]!.trim();
  const replica = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: `postgresql://berth:${password}@127.0.0.1:${pgPort}/berth`,
      BERTH_DATA_DIR: mkdtempSync(path.join(data, "replica-")),
      // Replicas share the artifact store (DESIGN.md: blobs on shared storage).
      BERTH_BLOB_DIR: path.join(data, "blobs"),
      BERTH_SECRET: readFileSync(path.join(data, "secrets", "session-secret"), "utf8").trim(),
      BERTH_SEALING_KEY: readFileSync(path.join(data, "secrets", "sealing-key"), "utf8").trim(),
      BERTH_PORT: String(port),
      BERTH_HOST: "127.0.0.1",
      BERTH_HEARTBEAT_SECONDS: "1",
      BERTH_OFFLINE_AFTER_SECONDS: "3",
      BERTH_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    replica.stdout!.on("data", (c: Buffer) => {
      seen += c.toString();
      if (seen.includes("Berth is running")) resolve();
    });
    replica.once("exit", (code) => reject(new Error(`replica exited ${code}`)));
  });
  return replica;
}
