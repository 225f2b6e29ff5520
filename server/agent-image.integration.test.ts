/**
 * The agent's container image (agents/host-agent/image.ts) against a real Docker Engine and a real control
 * plane (the request listener of server/http.ts with its downloads and agent
 * routes, on the integration PostgreSQL; 404 in place of Next): fetched from
 * /downloads/berth-agent-image.tar and loaded as the enrolment `docker run`
 * line does, then run as that line runs it, it enrols and reports.
 *
 * Needs a running engine (scripts/provision.sh docker). The engine is shared:
 * containers carry io.berth.test=agent-image and this run's label, the image
 * runs under a berth-test/ tag, and only that is removed (the real tag too,
 * when this test is what put it there).
 */
import { randomUUID } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestDatabase } from "@/test/use-database";
import { systemActor } from "@/lib/auth/actor";
import { addServer, getServer } from "@/lib/fleet/servers";
import { AGENT_IMAGE_DOWNLOAD_PATH, agentImageTag } from "@/lib/protocol/agent";
import { BERTH_VERSION } from "@/lib/version";
import { imageExists, loadImageArchive } from "@/runtimes/docker-images";
import { AGENT_IMAGE_UID } from "@/agents/host-agent/image";
import { berthRequestListener } from "./http";
import { serveDownloads } from "./downloads";

connectTestDatabase();
const socketPath = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";
const docker = new Dockerode({ socketPath });
const runId = randomUUID().slice(0, 8);
const TEST_LABELS = { "io.berth.test": "agent-image", "io.berth.test-run": runId };
const TEST_TAG = `berth-test/agent:it-${runId}`;
const REAL_TAG = agentImageTag(BERTH_VERSION);
const root = path.resolve(import.meta.dirname, "../..");
const work = mkdtempSync(path.join(os.tmpdir(), "berth-agent-image-it-"));
const request = { requestId: "it", sourceAddress: "127.0.0.1", userAgent: null };
const figures: Record<string, string> = {};

let server: http.Server;
let base = "";
let createdRealTag = false;

/** A container's log as text: without a TTY, Docker frames each chunk with an 8-byte header (stream, 0, 0, 0, length). */
function logText(raw: Buffer): string {
  let text = "";
  for (let at = 0; at + 8 <= raw.length; ) {
    const length = raw.readUInt32BE(at + 4);
    text += raw.subarray(at + 8, at + 8 + length).toString("utf8");
    at += 8 + length;
  }
  return text;
}

/** Runs a container of the test image to its end; its output and exit code. */
async function runToEnd(cmd: string[]): Promise<{ code: number; output: string }> {
  const container = await docker.createContainer({ Image: TEST_TAG, Cmd: cmd, Labels: TEST_LABELS, HostConfig: { NetworkMode: "none" } });
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  const output = logText(await container.logs({ stdout: true, stderr: true }));
  await container.remove({ force: true });
  return { code: StatusCode, output };
}

beforeAll(async () => {
  await docker.ping(); // fails loudly when no engine runs: provision it (scripts/provision.sh docker)
  const downloads = serveDownloads({ root, dataDir: path.join(work, "data") });
  server = http.createServer(
    berthRequestListener({
      uploads: async (_req, res) => void res.writeHead(404).end(),
      fallback: (req, res) => {
        if (!downloads(req, res)) res.writeHead(404).end();
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of await docker.listContainers({ all: true, filters: { label: [`io.berth.test-run=${runId}`] } })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  }
  await docker.getImage(TEST_TAG).remove().catch(() => {});
  if (createdRealTag) await docker.getImage(REAL_TAG).remove().catch(() => {});
  await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)));
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`[agent image figures]\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}\n`).join("")}`);
});

describe("the agent's container image", () => {
  it("is built by the control plane on the first download, then served from its cache, and loads as `curl … | docker load` under the tag the enrolment line runs", async () => {
    createdRealTag = !(await imageExists(docker, REAL_TAG));
    let started = performance.now();
    const head = await fetch(`${base}${AGENT_IMAGE_DOWNLOAD_PATH}`, { method: "HEAD" });
    figures["first request (cold build)"] = `${Math.round(performance.now() - started)} ms`;
    expect(head.status).toBe(200);
    expect(head.headers.get("x-berth-image")).toBe(REAL_TAG);
    const size = Number(head.headers.get("content-length"));
    figures["archive size"] = `${(size / 1e6).toFixed(1)} MB`;
    expect(size).toBeGreaterThan(30e6); // node itself
    expect(size).toBeLessThan(250e6);

    started = performance.now();
    const download = await fetch(`${base}${AGENT_IMAGE_DOWNLOAD_PATH}`);
    const cachedMs = performance.now() - started;
    figures["second request, to headers (cached)"] = `${Math.round(cachedMs)} ms`;
    expect(cachedMs).toBeLessThan(2000); // the cold build above took seconds
    expect(download.status).toBe(200);
    expect(download.headers.get("x-berth-sha256")).toBe(head.headers.get("x-berth-sha256"));
    await loadImageArchive(docker, Readable.fromWeb(download.body! as WebReadableStream));
    figures["download + docker load"] = `${Math.round(performance.now() - started)} ms`;
    expect(await imageExists(docker, REAL_TAG)).toBe(true);

    // Run under a throw-away tag; the real tag goes again if this test made it.
    const [repo, tag] = TEST_TAG.split(":") as [string, string];
    await docker.getImage(REAL_TAG).tag({ repo, tag });
    if (createdRealTag) {
      await docker.getImage(REAL_TAG).remove();
      createdRealTag = false;
    }
    const image = await docker.getImage(TEST_TAG).inspect();
    expect(image.Config.User).toBe(`${AGENT_IMAGE_UID}:${AGENT_IMAGE_UID}`);
    expect(image.Config.Entrypoint).toEqual(["/usr/local/bin/node", "/app/berth-agent.mjs"]);
    expect(image.Config.Env).toContain("BERTH_AGENT_STATE_DIR=/var/lib/berth-agent");
    figures["image size (engine)"] = `${(image.Size / 1e6).toFixed(1)} MB`;
  }, 60_000);

  it("prints its version and its help, as a user that is not root", async () => {
    const version = await runToEnd(["--version"]);
    expect(version).toEqual({ code: 0, output: `${BERTH_VERSION}\n` });
    const help = await runToEnd(["--help"]);
    expect(help.code).toBe(0);
    for (const option of ["--url", "--token", "BERTH_ENROLMENT_TOKEN", "--state-dir", "--advertise-address", "--bind-address"]) expect(help.output).toContain(option);
    const missing = await runToEnd([]);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("--url");
  }, 30_000);

  it("enrols as the enrolment `docker run` line runs it: host network, the socket's group, the state folder at its host path, the token from the environment", async () => {
    const name = `it-image-${runId}`;
    const { enrolmentToken } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 10 } });
    const stateDir = path.join(work, "agent-state");
    mkdirSync(stateDir, { mode: 0o700 });
    chownSync(stateDir, AGENT_IMAGE_UID, AGENT_IMAGE_UID);
    const container = await docker.createContainer({
      Image: TEST_TAG,
      name: `berth-test-agent-${runId}`,
      Labels: TEST_LABELS,
      Env: [`BERTH_ENROLMENT_TOKEN=${enrolmentToken}`, `BERTH_AGENT_STATE_DIR=${stateDir}`],
      Cmd: ["--url", base],
      HostConfig: {
        NetworkMode: "host",
        GroupAdd: [String(statSync(socketPath).gid)],
        Binds: [`${socketPath}:/var/run/docker.sock`, `${stateDir}:${stateDir}`],
      },
    });
    const started = performance.now();
    await container.start();

    // Enrolled on both sides: the server row, and the credential the agent saves from the answer.
    const credentialFile = path.join(stateDir, "agent.json");
    let view = await getServer(name);
    const deadline = Date.now() + 20_000;
    while (!(view.enrolled && existsSync(credentialFile)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      view = await getServer(name);
    }
    figures["container start to enrolled"] = `${Math.round(performance.now() - started)} ms`;
    const logs = async () => logText(await container.logs({ stdout: true, stderr: true }));
    expect(view.enrolled, await logs()).toBe(true);
    expect(view.state).toBe("online");
    expect(view.agentVersion).toBe(BERTH_VERSION);
    // It reached the Docker Engine through the socket's group, as uid 10001.
    expect(view.inventory?.docker).toMatchObject({ available: true, error: null });
    expect(view.inventory?.docker.version).toBeTruthy();

    // Its credential, in the state folder on the host, private to its user.
    expect(existsSync(credentialFile)).toBe(true);
    const info = statSync(credentialFile);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.uid).toBe(AGENT_IMAGE_UID);
    const { credential } = JSON.parse(readFileSync(credentialFile, "utf8")) as { credential: string };
    expect(credential).toMatch(/^berth_agent_/);

    // SIGTERM stops it cleanly (docker stop, compose down), and no secret ever reached its log.
    const stopping = performance.now();
    await container.stop({ t: 10 });
    figures["docker stop"] = `${Math.round(performance.now() - stopping)} ms`;
    const state = await container.inspect();
    const output = await logs();
    expect(state.State.ExitCode, output).toBe(0);
    expect(output).toContain("enrolled");
    expect(output).toContain("berth agent stopped");
    expect(output).not.toContain(enrolmentToken);
    expect(output).not.toContain(credential);
  }, 60_000);
});
