import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { adminToken, bearer, recentAuditEvents } from "../fixtures";

const iris = readFileSync(path.resolve("samples/iris/iris-v1.onnx"));
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const blobDir = () => path.join(process.env.BERTH_E2E_DATA_DIR!, "blobs");
const storedFiles = () => {
  const root = path.join(blobDir(), "sha256");
  return existsSync(root) ? readdirSync(root).flatMap((d) => readdirSync(path.join(root, d))) : [];
};
const incoming = () => (existsSync(path.join(blobDir(), "incoming")) ? readdirSync(path.join(blobDir(), "incoming")) : []);

async function newModel(request: APIRequestContext, secret: string, name = `m-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`) {
  const response = await request.post("/api/v1/models", { headers: bearer(secret), data: { name, description: "e2e", task: "classification", tags: ["e2e"] } });
  expect(response.status(), await response.text()).toBe(201);
  return name;
}

function push(request: APIRequestContext, secret: string, model: string, bytes: Buffer, query: Record<string, string> = { format: "other" }) {
  return request.post(`/api/v1/models/${model}/versions?${new URLSearchParams(query)}`, {
    headers: { ...bearer(secret), "content-type": "application/octet-stream" },
    data: bytes,
  });
}

test("upload an ONNX version in one request: digest, size, signature, audit", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const model = await newModel(request, secret);
  const response = await request.post(`/api/v1/models/${model}/versions?format=onnx&fileName=iris-v1.onnx`, {
    headers: { ...bearer(secret), "content-type": "application/octet-stream", "berth-metadata": JSON.stringify({ dataset: "iris" }) },
    data: iris,
  });
  expect(response.status()).toBe(201);
  const { version } = await response.json();
  expect(version).toMatchObject({ number: 1, label: "1", format: "onnx", sizeBytes: iris.length, sha256: sha(iris), metadata: { dataset: "iris" } });
  expect(version.signature.outputs.map((o: { name: string }) => o.name)).toEqual(["label", "probabilities"]);
  expect(storedFiles()).toContain(sha(iris));
  const admin = await adminToken(request, "ADMIN");
  const event = (await recentAuditEvents(request, admin.secret)).find((e) => e.action === "version.upload" && e.targetLabel === `${model}@1`);
  expect(event?.details).toMatchObject({ sha256: sha(iris), sizeBytes: iris.length });
});

test("a wrong digest, an empty file, an over-limit file, a non-ONNX 'onnx' and an unknown model are refused and leave nothing", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const model = await newModel(request, secret);
  const before = storedFiles().length;
  const bytes = randomBytes(50_000);
  const cases: [Promise<Awaited<ReturnType<typeof push>>>, number, string][] = [
    [push(request, secret, model, bytes, { format: "other", sha256: "a".repeat(64) }), 422, "unprocessable"],
    [push(request, secret, model, Buffer.alloc(0)), 400, "validation_failed"],
    [push(request, secret, model, Buffer.from("plain text, not a model"), { format: "onnx" }), 422, "unprocessable"],
    [push(request, secret, "no-such-model", bytes), 404, "not_found"],
    [push(request, secret, "..%2F..%2Fetc", bytes), 404, "not_found"],
    [push(request, secret, model, bytes, { format: "exe" }), 400, "validation_failed"],
    [push(request, secret, model, bytes, { format: "other", version: "../x" }), 400, "validation_failed"],
  ];
  for (const [pending, status, code] of cases) {
    const response = await pending;
    expect(response.status(), await response.text()).toBe(status);
    expect((await response.json()).error.code).toBe(code);
  }
  const tooBig = await push(request, secret, model, Buffer.alloc(64 * 1024 * 1024 + 1));
  expect(tooBig.status()).toBe(413);
  expect((await request.get(`/api/v1/models/${model}/versions`, { headers: bearer(secret) }).then((r) => r.json())).versions).toEqual([]);
  expect(storedFiles().length).toBe(before);
  expect(incoming()).toEqual([]);
});

test("identical content is stored once; delete keeps the file until its last version goes", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const [a, b] = [await newModel(request, secret), await newModel(request, secret)];
  const bytes = randomBytes(10_000);
  expect((await push(request, secret, a, bytes)).status()).toBe(201);
  expect((await push(request, secret, b, bytes)).status()).toBe(201);
  expect(storedFiles().filter((f) => f === sha(bytes))).toHaveLength(1);
  expect((await request.delete(`/api/v1/models/${a}/versions/1`, { headers: bearer(secret) })).status()).toBe(200);
  expect(storedFiles()).toContain(sha(bytes));
  expect((await request.delete(`/api/v1/models/${b}/versions/1`, { headers: bearer(secret) })).status()).toBe(200);
  expect(storedFiles()).not.toContain(sha(bytes));
  const deleteModel = await request.delete(`/api/v1/models/${a}`, { headers: bearer(secret) });
  expect(deleteModel.status()).toBe(200);
});

test("download with Range: whole file, a slice, a suffix, and an unsatisfiable range; each download audited", async ({ request }) => {
  const { secret } = await adminToken(request, "ADMIN");
  const model = await newModel(request, secret);
  const bytes = randomBytes(100_000);
  await push(request, secret, model, bytes);
  const url = `/api/v1/models/${model}/versions/1/artifact`;
  const whole = await request.get(url, { headers: bearer(secret) });
  expect(whole.status()).toBe(200);
  expect(whole.headers()["x-berth-sha256"]).toBe(sha(bytes));
  expect(whole.headers()["accept-ranges"]).toBe("bytes");
  expect(Buffer.from(await whole.body()).equals(bytes)).toBe(true);
  const slice = await request.get(url, { headers: { ...bearer(secret), range: "bytes=1000-1999" } });
  expect(slice.status()).toBe(206);
  expect(slice.headers()["content-range"]).toBe(`bytes 1000-1999/${bytes.length}`);
  expect(Buffer.from(await slice.body()).equals(bytes.subarray(1000, 2000))).toBe(true);
  const suffix = await request.get(url, { headers: { ...bearer(secret), range: "bytes=-10" } });
  expect(Buffer.from(await suffix.body()).equals(bytes.subarray(bytes.length - 10))).toBe(true);
  const beyond = await request.get(url, { headers: { ...bearer(secret), range: `bytes=${bytes.length}-` } });
  expect(beyond.status()).toBe(416);
  expect(beyond.headers()["content-range"]).toBe(`bytes */${bytes.length}`);
  const head = await request.head(url, { headers: bearer(secret) });
  expect(head.headers()["content-length"]).toBe(String(bytes.length));
  const downloads = (await recentAuditEvents(request, secret)).filter((e) => e.action === "artifact.download" && e.targetLabel === `${model}@1`);
  expect(downloads.map((e) => e.details.range)).toEqual(expect.arrayContaining([null, "bytes=1000-1999", "bytes=-10"]));
});

/** Raw HTTP, so the connection can be cut mid-body for real. */
function tusRequest(options: { method: string; path: string; headers: Record<string, string>; body?: Buffer; cutAfter?: number }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const base = new URL(test.info().project.use.baseURL!);
    const req = http.request({ host: base.hostname, port: base.port, method: options.method, path: options.path, headers: { "tus-resumable": "1.0.0", ...options.headers } });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    if (options.cutAfter !== undefined && options.body) {
      req.write(options.body.subarray(0, options.cutAfter), () => setTimeout(() => { req.destroy(); resolve({ status: 0, headers: {}, body: "cut" }); }, 300));
    } else req.end(options.body);
  });
}

const tusMetadata = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k} ${Buffer.from(v).toString("base64")}`).join(",");

test("resumable upload survives a cut connection and registers the version with the right digest", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const model = await newModel(request, secret);
  const bytes = randomBytes(8 * 1024 * 1024);
  const created = await tusRequest({
    method: "POST",
    path: "/api/v1/uploads",
    headers: { ...bearer(secret), "upload-length": String(bytes.length), "upload-metadata": tusMetadata({ model, format: "other", filename: "weights.bin", sha256: sha(bytes) }) },
  });
  expect(created.status, created.body).toBe(201);
  const location = created.headers.location!;
  const uploadPath = location.startsWith("http") ? new URL(location).pathname : location;

  // Send 3 MiB, then cut the connection for real.
  await tusRequest({ method: "PATCH", path: uploadPath, headers: { ...bearer(secret), "content-type": "application/offset+octet-stream", "upload-offset": "0", "content-length": String(bytes.length) }, body: bytes, cutAfter: 3 * 1024 * 1024 });
  const head = await tusRequest({ method: "HEAD", path: uploadPath, headers: bearer(secret) });
  expect(head.status).toBe(200);
  const offset = Number(head.headers["upload-offset"]);
  expect(offset).toBeGreaterThan(0);
  expect(offset).toBeLessThan(bytes.length);

  // Someone else (here a host-minted token, owned by no user) cannot see or continue this upload.
  const stranger = execFileSync("node", ["bin/berth.mjs", "admin", "create-token", "--name", "stranger", "--role", "ADMIN"], {
    env: { ...process.env, BERTH_DATA_DIR: process.env.BERTH_E2E_DATA_DIR! },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
  expect((await tusRequest({ method: "HEAD", path: uploadPath, headers: bearer(stranger) })).status).toBe(404);

  const rest = bytes.subarray(offset);
  const finished = await tusRequest({ method: "PATCH", path: uploadPath, headers: { ...bearer(secret), "content-type": "application/offset+octet-stream", "upload-offset": String(offset), "content-length": String(rest.length) }, body: rest });
  expect(finished.status, finished.body).toBe(200);
  expect(JSON.parse(finished.body).version).toMatchObject({ label: "1", sha256: sha(bytes), sizeBytes: bytes.length, fileName: "weights.bin" });
  const downloaded = await request.get(`/api/v1/models/${model}/versions/1/artifact`, { headers: bearer(secret) });
  expect(sha(Buffer.from(await downloaded.body()))).toBe(sha(bytes));
  expect(readdirSync(path.join(blobDir(), "uploads")).filter((f) => uploadPath.endsWith(f.replace(/\.json$/, "")))).toEqual([]);
});

test("a resumable upload is refused at creation when its metadata is wrong, and at the end when its digest is", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const model = await newModel(request, secret);
  const noModel = await tusRequest({ method: "POST", path: "/api/v1/uploads", headers: { ...bearer(secret), "upload-length": "10", "upload-metadata": tusMetadata({ model: "nope", format: "other" }) } });
  expect(noModel.status).toBe(404);
  expect(JSON.parse(noModel.body).error.code).toBe("not_found");
  const badFormat = await tusRequest({ method: "POST", path: "/api/v1/uploads", headers: { ...bearer(secret), "upload-length": "10", "upload-metadata": tusMetadata({ model, format: "zip" }) } });
  expect(badFormat.status).toBe(400);
  const anonymous = await tusRequest({ method: "POST", path: "/api/v1/uploads", headers: { "upload-length": "10", "upload-metadata": tusMetadata({ model, format: "other" }) } });
  expect(anonymous.status).toBe(401);

  const bytes = randomBytes(1000);
  const created = await tusRequest({ method: "POST", path: "/api/v1/uploads", headers: { ...bearer(secret), "upload-length": String(bytes.length), "upload-metadata": tusMetadata({ model, format: "other", sha256: "b".repeat(64) }) } });
  const uploadPath = created.headers.location!.startsWith("http") ? new URL(created.headers.location!).pathname : created.headers.location!;
  const finished = await tusRequest({ method: "PATCH", path: uploadPath, headers: { ...bearer(secret), "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: bytes });
  expect(finished.status).toBe(422);
  expect(JSON.parse(finished.body).error.message).toContain("SHA-256 mismatch");
  expect(storedFiles()).not.toContain(sha(bytes));
  expect(readdirSync(path.join(blobDir(), "uploads")).some((f) => uploadPath.endsWith(f.replace(/\.json$/, "")))).toBe(false);
});

test("VIEWER and AUDITOR tokens cannot upload, change or delete; refusals are audited", async ({ request }) => {
  const admin = await adminToken(request, "ADMIN");
  const model = await newModel(request, admin.secret);
  for (const role of ["VIEWER", "AUDITOR"]) {
    const { secret } = await adminToken(request, role);
    expect((await push(request, secret, model, randomBytes(10))).status()).toBe(403);
    expect((await request.post("/api/v1/models", { headers: bearer(secret), data: { name: `x-${role.toLowerCase()}` } })).status()).toBe(403);
    expect((await request.get(`/api/v1/models/${model}`, { headers: bearer(secret) })).status()).toBe(200);
  }
  const denied = (await recentAuditEvents(request, admin.secret)).filter((e) => e.outcome === "DENIED" && e.action === "version.upload");
  expect(denied.length).toBeGreaterThanOrEqual(2);
});

test("berth CLI: models create, push (refused on a wrong --sha256, then accepted), versions, download with verification", async ({ request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const env = { ...process.env, BERTH_URL: test.info().project.use.baseURL!, BERTH_TOKEN: secret };
  const berth = (...args: string[]) => execFileSync("node", ["bin/berth.mjs", ...args], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const name = `cli-${Date.now().toString(36)}`;
  expect(berth("models", "create", name, "--task", "classification", "--tag", "cli")).toContain(`created model ${name}`);

  let refusal: { status: number; stderr: string } | undefined;
  try {
    berth("models", "push", name, "samples/iris/iris-v1.onnx", "--sha256", "c".repeat(64));
  } catch (error) {
    refusal = error as { status: number; stderr: string };
  }
  expect(refusal?.status).toBe(1);
  expect(refusal?.stderr).toContain("SHA-256 mismatch");

  const pushed = JSON.parse(berth("models", "push", name, "samples/iris/iris-v1.onnx", "--sha256", sha(iris), "--metadata", "dataset=iris", "--json"));
  expect(pushed).toMatchObject({ label: "1", format: "onnx", sha256: sha(iris), metadata: { dataset: "iris" }, fileName: "iris-v1.onnx" });
  const labelled = JSON.parse(berth("models", "push", name, "samples/iris/iris-v2.onnx", "--version", "v2-rc", "--json"));
  expect(labelled).toMatchObject({ number: 2, label: "v2-rc" });
  const versions = JSON.parse(berth("models", "versions", name, "--json"));
  expect(versions.map((v: { label: string }) => v.label)).toEqual(["v2-rc", "1"]);
  const listed = JSON.parse(berth("models", "list", "--search", name, "--json"));
  expect(listed).toHaveLength(1);

  const out = path.join(process.env.BERTH_E2E_DATA_DIR!, `${name}.onnx`);
  const downloaded = JSON.parse(berth("models", "download", `${name}@1`, "-o", out, "--json"));
  expect(downloaded).toMatchObject({ sha256: sha(iris), size: iris.length });
  expect(readFileSync(out).equals(iris)).toBe(true);
});
