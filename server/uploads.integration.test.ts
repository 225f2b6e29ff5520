import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestDatabase } from "@/test/use-database";
import { systemActor } from "@/lib/auth/actor";
import { createApiToken } from "@/lib/auth/api-tokens";
import { readSettings } from "@/lib/config/settings";
import { createModel } from "@/lib/registry/models";
import { berthRequestListener } from "./http";
import { createUploadServer } from "./uploads";

/**
 * Unfinished resumable uploads expire: the hourly sweep deletes those older
 * than BERTH_UPLOAD_EXPIRY_HOURS, bytes and bookkeeping, and keeps younger
 * ones. Real tus server, real PostgreSQL; the only thing faked is the passing
 * of time, by backdating the upload's recorded creation date on disk.
 */
connectTestDatabase();
const blobDir = mkdtempSync(path.join(os.tmpdir(), "berth-uploads-it-"));
const settings = { ...readSettings(), blobDir, uploadDir: path.join(blobDir, "uploads"), uploadExpiryHours: 1 };
const uploads = createUploadServer(settings);
const server = http.createServer(berthRequestListener({ uploads: uploads.handler, fallback: (_req, res) => void res.writeHead(404).end(), accessLog: () => {} }));
let base = "";
let token = "";
const model = `expiry-${Date.now()}`;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  token = (await createApiToken({ actor: systemActor(), request: { requestId: null, sourceAddress: null, userAgent: null }, input: { name: "uploads-it", role: "OPERATOR" } })).secret;
  await createModel({ actor: systemActor(), request: { requestId: null, sourceAddress: null, userAgent: null }, input: { name: model, description: "", tags: [] } });
});
afterAll(() => server.close());

const b64 = (text: string) => Buffer.from(text).toString("base64");
const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, "tus-resumable": "1.0.0", ...extra });

async function startUpload(): Promise<string> {
  const created = await fetch(`${base}/api/v1/uploads`, {
    method: "POST",
    headers: headers({ "upload-length": "4096", "upload-metadata": `model ${b64(model)},format ${b64("other")}` }),
  });
  expect(created.status, await created.text()).toBe(201);
  const id = created.headers.get("location")!.split("/").pop()!;
  const patched = await fetch(`${base}/api/v1/uploads/${id}`, {
    method: "PATCH",
    headers: headers({ "content-type": "application/offset+octet-stream", "upload-offset": "0" }),
    body: Buffer.alloc(1024, 7),
  });
  expect(patched.status).toBe(204);
  return id;
}

const status = async (id: string) => (await fetch(`${base}/api/v1/uploads/${id}`, { method: "HEAD", headers: headers() })).status;
const filesOf = (id: string) => readdirSync(settings.uploadDir).filter((name) => name.startsWith(id));

describe("resumable upload expiry", () => {
  it("deletes an unfinished upload older than the expiry, bytes and all, and keeps a younger one", async () => {
    const old = await startUpload();
    const young = await startUpload();
    expect(filesOf(old).length).toBeGreaterThan(0);

    // Two hours ago, against a one-hour expiry.
    const infoFile = path.join(settings.uploadDir, `${old}.json`);
    const info = JSON.parse(readFileSync(infoFile, "utf8")) as { creation_date: string };
    writeFileSync(infoFile, JSON.stringify({ ...info, creation_date: new Date(Date.now() - 2 * 3_600_000).toISOString() }));

    expect(await uploads.cleanUpExpired()).toBe(1);
    expect(await status(old)).toBe(404);
    expect(filesOf(old)).toEqual([]);
    expect(await status(young)).toBe(200);
    expect(filesOf(young).length).toBeGreaterThan(0);
  });
});
