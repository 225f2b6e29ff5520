import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminToken, bearer } from "../fixtures";
import { startAgent } from "../agent-process";

/**
 * The agent behind TLS, end to end: a real TLS-terminating reverse proxy in
 * front of the real control plane, its certificate issued by a throw-away
 * internal CA (openssl). A real `berth agent` refuses the proxy without the
 * CA, and with `--ca-file` enrols, heartbeats and long-polls through it; a
 * removal is refused through it at once.
 */
test("a real agent talks to the control plane through a TLS proxy signed by an internal CA, and only with --ca-file", async ({ request, baseURL }) => {
  test.setTimeout(90_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-tls-e2e-"));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=Berth E2E Internal CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("proxy.key"), "-out", file("proxy.csr"), "-subj", "/CN=localhost");
  writeFileSync(file("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", file("proxy.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("proxy.pem"), "-days", "2", "-extfile", file("ext.cnf"));

  // The proxy: TLS in front, plain HTTP to Berth, streaming both ways (long-polls stay open through it).
  const upstream = new URL(baseURL!);
  let proxied = 0;
  const proxy = https.createServer({ key: readFileSync(file("proxy.key")), cert: readFileSync(file("proxy.pem")) }, (req, res) => {
    proxied += 1;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const url = `https://localhost:${(proxy.address() as AddressInfo).port}`;

  const { secret } = await adminToken(request, "ADMIN", "tls-e2e-admin");
  const name = `tls-${Date.now()}`;
  const added = await request.post("/api/v1/servers", { headers: bearer(secret), data: { name } });
  expect(added.status()).toBe(201);
  const { enrolmentToken } = (await added.json()) as { enrolmentToken: string };
  const state = async () => ((await (await request.get(`/api/v1/servers/${name}`, { headers: bearer(secret) })).json()) as { server: { state: string } }).server.state;

  // Without the internal CA: refused as a TLS failure, one clear line, nothing enrolled.
  const untrusting = startAgent({ url, token: enrolmentToken });
  try {
    await expect.poll(() => untrusting.log(), { timeout: 20_000 }).toContain("TLS verification failed");
    expect(untrusting.log()).toContain("--ca-file");
    expect(await state()).toBe("pending");
  } finally {
    await untrusting.stop();
  }

  // With it: enrols, goes online, and holds its desired-state long-poll through the proxy.
  const agent = startAgent({ url, token: enrolmentToken, args: ["--ca-file", file("ca.pem")] });
  try {
    await expect.poll(() => agent.log(), { timeout: 30_000 }).toContain("enrolled");
    await expect.poll(state, { timeout: 20_000 }).toBe("online");
    await expect.poll(() => agent.log(), { timeout: 20_000 }).toContain("desired state");
    expect(proxied).toBeGreaterThan(2);

    // Removed on the control plane: the next request through the proxy is refused, and the agent says so.
    expect((await request.delete(`/api/v1/servers/${name}`, { headers: bearer(secret) })).status()).toBe(200);
    await expect.poll(() => agent.log(), { timeout: 30_000 }).toMatch(/refused/);
    expect(agent.child.exitCode).toBeNull(); // it keeps running, waiting for an operator
  } finally {
    await agent.stop();
    proxy.close();
    proxy.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
});
