import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ControlPlaneError, createClient } from "./client";

// A real TLS server with a certificate from a throw-away CA (made with openssl
// here), standing in for a control plane behind an internal PKI.
const dir = mkdtempSync(path.join(os.tmpdir(), "berth-tls-"));
const file = (name: string) => path.join(dir, name);
let server: https.Server;
let url = "";

beforeAll(async () => {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=Berth Test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=localhost");
  const ext = file("ext.cnf");
  (await import("node:fs")).writeFileSync(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("server.pem"), "-days", "2", "-extfile", ext);
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("other.key"), "-out", file("other-ca.pem"), "-days", "2", "-subj", "/CN=Some Other CA");
  server = https.createServer({ key: readFileSync(file("server.key")), cert: readFileSync(file("server.pem")) }, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(() => server?.close());

const ZOk = z.object({ ok: z.literal(true) });

describe("the agent's client verifies the control plane's certificate", () => {
  it("refuses a certificate from a CA it does not trust, as a TLS failure", async () => {
    const client = createClient({ url });
    const error = await client.call({ method: "GET", path: "/", schema: ZOk }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneError);
    expect((error as ControlPlaneError).kind).toBe("tls");
    expect((error as ControlPlaneError).message).toContain("--ca-file");
    await client.close();
  });

  it("refuses it with the wrong --ca-file too", async () => {
    const client = createClient({ url, caFile: file("other-ca.pem") });
    const error = await client.call({ method: "GET", path: "/", schema: ZOk }).catch((e: unknown) => e);
    expect((error as ControlPlaneError).kind).toBe("tls");
    await client.close();
  });

  it("accepts it with the site's CA file", async () => {
    const client = createClient({ url, caFile: file("ca.pem") });
    await expect(client.call({ method: "GET", path: "/", schema: ZOk })).resolves.toEqual({ ok: true });
    await client.close();
  });

  it("reports a stopped control plane as unreachable, not as a crash", async () => {
    const client = createClient({ url: "http://127.0.0.1:1" });
    const error = await client.call({ method: "GET", path: "/", schema: ZOk }).catch((e: unknown) => e);
    expect((error as ControlPlaneError).kind).toBe("unreachable");
    await client.close();
  });
});
