import { open } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { readSettings } from "@/lib/config/settings";
import { BerthError } from "@/lib/http/errors";
import { handleNode, sendJson } from "@/lib/http/node-api";
import { validate } from "@/lib/http/parse";
import { receiveArtifact } from "@/lib/blobs/blob-store";
import { ZMetadata } from "@/lib/registry/schemas";
import { checkVersionUpload, getVersion, openArtifact, registerVersion } from "@/lib/registry/versions";
import { uploadVersionApi } from "@/app/api/v1/models/[name]/versions/schemas";
import { downloadArtifactApi, headArtifactApi } from "@/app/api/v1/models/[name]/versions/[version]/schemas";

const METADATA_HEADER = "berth-metadata";

export const uploadVersion = handleNode(uploadVersionApi, async ({ actor, request, params, query, req, res }) => {
  const settings = readSettings();
  const type = (req.headers["content-type"] ?? "application/octet-stream").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/octet-stream") {
    throw new BerthError("unsupported_media_type", "Send the artifact as the raw body with Content-Type: application/octet-stream");
  }
  const rawMetadata = req.headers[METADATA_HEADER];
  let metadata: Record<string, unknown> = {};
  if (typeof rawMetadata === "string" && rawMetadata.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawMetadata);
    } catch {
      throw new BerthError("invalid_json", "The Berth-Metadata header must be a JSON object");
    }
    metadata = validate(ZMetadata, parsed, "Berth-Metadata header");
  }
  const declared = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
  if (declared !== undefined && declared > settings.maxArtifactBytes) {
    throw new BerthError("payload_too_large", `The artifact is ${declared} bytes; the limit is ${settings.maxArtifactBytes} (BERTH_MAX_ARTIFACT_BYTES)`, { limit: settings.maxArtifactBytes });
  }
  if (declared === 0) throw new BerthError("validation_failed", "The artifact is empty");
  // Refuse before storing a byte when the upload could never be registered.
  await checkVersionUpload({ modelName: params.name, input: query });
  const file = await receiveArtifact({
    source: req,
    blobDir: settings.blobDir,
    maxBytes: settings.maxArtifactBytes,
    expectedSha256: query.sha256,
    expectedSize: Number.isFinite(declared) ? declared : undefined,
  });
  const version = await registerVersion({ actor, request, modelName: params.name, input: { ...query, metadata }, file, blobDir: settings.blobDir });
  sendJson(res, 201, { version });
});

type ByteRange = { start: number; end: number };

/** One `bytes=` range (RFC 9110 §14.1.2). Several ranges are answered with the whole file, as the RFC allows. */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return header.includes(",") ? null : "unsatisfiable";
  const [, first, last] = match;
  if (first === "" && last === "") return "unsatisfiable";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

function artifactHeaders(artifact: { size: number; sha256: string; fileName: string }) {
  return {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    etag: `"${artifact.sha256}"`,
    digest: `sha-256=${Buffer.from(artifact.sha256, "hex").toString("base64")}`,
    "x-berth-sha256": artifact.sha256,
    "content-disposition": `attachment; filename="${artifact.fileName.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
    "cache-control": "private, no-store",
  };
}

/** Streams an artifact, or the one range asked for, with the headers a resuming client needs. */
export async function sendArtifact(req: IncomingMessage, res: ServerResponse, artifact: { path: string; size: number; sha256: string; fileName: string }, requestId: string) {
  const range = typeof req.headers.range === "string" ? req.headers.range : undefined;
  const wanted = parseRange(range, artifact.size);
  if (wanted === "unsatisfiable") {
    res.writeHead(416, { "content-range": `bytes */${artifact.size}`, "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "range_not_satisfiable", message: `The artifact is ${artifact.size} bytes; the requested range lies outside it` } }));
    return;
  }
  const { start, end } = wanted ?? { start: 0, end: artifact.size - 1 };
  // Open before the status line goes out, so a missing file is an error the client can read, not a cut connection.
  const file = await open(artifact.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
    throw new BerthError("internal", `The stored file for sha256 ${artifact.sha256} is missing from this control plane's blob store; every replica must share BERTH_BLOB_DIR`);
  });
  res.writeHead(wanted ? 206 : 200, {
    ...artifactHeaders(artifact),
    "content-length": end - start + 1,
    ...(wanted ? { "content-range": `bytes ${start}-${end}/${artifact.size}` } : {}),
    "x-request-id": requestId,
  });
  await pipeline(file.createReadStream({ start, end, highWaterMark: 1024 * 1024 }), res);
}

export const downloadArtifact = handleNode(downloadArtifactApi, async ({ actor, request, params, req, res }) => {
  const range = typeof req.headers.range === "string" ? req.headers.range : null;
  const artifact = await openArtifact({ actor, request, modelName: params.name, label: params.version, blobDir: readSettings().blobDir, range });
  await sendArtifact(req, res, artifact, request.requestId);
});

export const headArtifact = handleNode(headArtifactApi, async ({ params, res }) => {
  const version = await getVersion(params.name, params.version);
  res.writeHead(200, {
    ...artifactHeaders({ size: version.sizeBytes, sha256: version.sha256, fileName: version.fileName ?? `${version.model}-${version.label}` }),
    "content-length": version.sizeBytes,
  });
  res.end();
});
