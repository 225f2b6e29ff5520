import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { buildAgentImageArchive } from "@/agents/host-agent/image";
import { AGENT_IMAGE_DOWNLOAD_PATH } from "@/lib/protocol/agent";
import { logger } from "@/lib/observability/logger";
import { AGENT_BUNDLE } from "./build";

/** Where hosts fetch the single-file agent (the enrolment commands name it). No secret in it, so no sign-in. */
export const AGENT_DOWNLOAD_PATH = "/downloads/berth-agent.mjs";
export { AGENT_IMAGE_DOWNLOAD_PATH };

function notFound(res: http.ServerResponse, message: string) {
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code: "not_found", message } }));
}

async function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, headers: Record<string, string | number>) {
  const info = await stat(file);
  res.writeHead(200, { ...headers, "content-length": info.size, "cache-control": "no-cache" });
  if (req.method === "HEAD") return void res.end();
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), res);
}

async function sendAgentBundle(req: http.IncomingMessage, res: http.ServerResponse, file: string) {
  if (!(await stat(file).catch(() => null))) return notFound(res, "The agent bundle has not been built on this control plane (npm run build:agent)");
  await sendFile(req, res, file, { "content-type": "text/javascript; charset=utf-8", "content-disposition": 'attachment; filename="berth-agent.mjs"' });
}

/**
 * The agent's container image, for `curl … | docker load` on hosts with no
 * registry (the enrolment `docker run` line). Built from this control plane's
 * own files on the first request (a few seconds; concurrent requests share
 * the build) and cached in <data>/images, which `berth admin build-agent-image`
 * fills too. Public like the bundle: node and the agent, no secret.
 */
async function sendAgentImage(req: http.IncomingMessage, res: http.ServerResponse, dataDir: string) {
  let archive;
  try {
    archive = await buildAgentImageArchive({ cacheDir: path.join(dataDir, "images"), log: (line) => logger.info(line) });
  } catch (error) {
    logger.error({ err: error }, "could not build the agent image");
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "internal", message: "The agent image could not be built on this control plane (GNU tar and ldd are needed); see its log" } }));
    return;
  }
  await sendFile(req, res, archive.path, {
    "content-type": "application/x-tar",
    "content-disposition": 'attachment; filename="berth-agent-image.tar"',
    "x-berth-image": archive.tag,
    "x-berth-sha256": archive.sha256,
  });
}

/**
 * Answers GET and HEAD of the public downloads; returns false for any other
 * request (it goes to Next). Downloads hold no secret, so they need no sign-in.
 */
export function serveDownloads(options: { root: string; dataDir: string }) {
  const bundle = path.join(options.root, AGENT_BUNDLE);
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const pathname = req.url?.split("?")[0];
    const send = pathname === AGENT_DOWNLOAD_PATH ? sendAgentBundle(req, res, bundle) : pathname === AGENT_IMAGE_DOWNLOAD_PATH ? sendAgentImage(req, res, options.dataDir) : null;
    if (!send) return false;
    // A client that hangs up mid-download ends the pipeline with an error; nothing to answer then.
    send.catch((error: unknown) => {
      if (!res.headersSent) notFound(res, "not available");
      else res.destroy(error as Error);
    });
    return true;
  };
}
