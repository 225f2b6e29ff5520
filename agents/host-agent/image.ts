/**
 * The agent's container image, made with no registry by the shared builder
 * (runtimes/image-archive.ts), as the built-in ONNX runtime's image is: this
 * host's `node`, the libraries `ldd` names for it, and the single-file agent
 * (scripts/build-agent.mjs, the same bundle /downloads/berth-agent.mjs serves)
 * at /app/berth-agent.mjs. About 100 MB, one layer, reproducible.
 *
 * Its tag is the one the enrolment `docker run` line and docker-compose.yml name
 * (agentImageTag in lib/protocol/agent.ts). Built by `berth admin build-agent-image`
 * (`npm run image:agent`); sites with a registry can use the Dockerfile beside
 * this file instead. Not part of the agent bundle: the building side imports it.
 *
 * It runs as `berth` (10001:10001). The agent needs the Docker socket, so a
 * container of it is given the socket's group (`--group-add`) and a state folder
 * that user owns; see docs/install.md.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { agentImageTag } from "@/lib/protocol/agent";
import { BERTH_VERSION } from "@/lib/version";
import { buildImageArchive, NODE_IN_IMAGE, stageHostNode, writeUsers, type ImageArchive } from "@/runtimes/image-archive";

// The agent's version is Berth's (agent.ts); not imported from there, which would load the whole agent into the control plane.
const AGENT_VERSION = BERTH_VERSION;

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The agent's user in the image: not root, and not a uid a Debian host hands out to people (1000+ range start). */
export const AGENT_IMAGE_UID = 10001;
export const AGENT_IMAGE_USER = `${AGENT_IMAGE_UID}:${AGENT_IMAGE_UID}`;
export const AGENT_IN_IMAGE = "/app/berth-agent.mjs";

export function agentImage(): string {
  return agentImageTag(AGENT_VERSION);
}

/** What the image is made of, besides the host's node: the bundle's sources and the layout's code. */
const INPUTS = ["agents", "lib/protocol", "lib/version.ts", "runtimes/docker-images.ts", "runtimes/image-archive.ts", "scripts/build-agent.mjs", "package.json", "package-lock.json"];

/**
 * A hash of the image's inputs and the node binary's version. The tag is
 * Berth's version and stays put while the code under it changes (a
 * development checkout), so the cached archive is named by this instead.
 */
export function agentImageContentKey(): string {
  const hash = createHash("sha256").update(`node ${process.versions.node} ${process.arch}\0`);
  const add = (relative: string) => {
    const full = path.join(root, relative);
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) {
        if (entry === "testdata" || entry.endsWith(".test.ts") || entry === "test-support.ts") continue;
        add(path.join(relative, entry));
      }
    } else {
      hash.update(`${relative}\0`).update(readFileSync(full)).update("\0");
    }
  };
  for (const input of INPUTS) add(input);
  return hash.digest("hex").slice(0, 16);
}

async function stageRootfs(rootfs: string, log: (line: string) => void) {
  const { node, libraries } = await stageHostNode(rootfs);
  log(`agent image: node ${node}, ${libraries.length} shared libraries`);
  // The same bundling the /downloads/berth-agent.mjs file gets: one definition of the agent's build.
  await execFileAsync(process.execPath, [path.join(root, "scripts/build-agent.mjs"), "--outfile", path.join(rootfs, AGENT_IN_IMAGE)], { cwd: root });
  await writeUsers(rootfs, { name: "berth", uid: AGENT_IMAGE_UID, gid: AGENT_IMAGE_UID, group: "berth" });
  await mkdir(path.join(rootfs, "tmp"));
}

/**
 * Builds the agent image archive into `cacheDir` (`docker load`-able), or
 * returns the cached one when nothing it is made of has changed.
 */
export function buildAgentImageArchive(options: { cacheDir: string; log?: (line: string) => void }): Promise<ImageArchive> {
  const tag = agentImage();
  const log = options.log ?? (() => {});
  return buildImageArchive({
    cacheDir: options.cacheDir,
    tag,
    cacheKey: `${tag}-${agentImageContentKey()}`,
    stage: (rootfs) => stageRootfs(rootfs, log),
    config: {
      User: AGENT_IMAGE_USER,
      // The agent's defaults match the bind mount that docs/install.md and the enrolment line use.
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production", "BERTH_AGENT_STATE_DIR=/var/lib/berth-agent"],
      Entrypoint: [NODE_IN_IMAGE, AGENT_IN_IMAGE],
      WorkingDir: "/app",
      StopSignal: "SIGTERM",
      Labels: { "io.berth.component": "agent", "org.opencontainers.image.version": AGENT_VERSION },
    },
    createdBy: "berth agents/host-agent/image.ts (host node, ldd-named libraries, the single-file agent)",
    log,
  });
}
