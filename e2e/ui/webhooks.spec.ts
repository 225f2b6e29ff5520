import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { verifyDeliverySignature } from "../../lib/webhooks/sign";
import { adminToken, bearer, signIn } from "../fixtures";

type Hit = { headers: http.IncomingHttpHeaders; body: string };

const aboutServer = (body: string, serverName: string) => (JSON.parse(body) as { data?: { server?: { name?: string } } }).data?.server?.name === serverName;

/**
 * A receiver on 127.0.0.1 that records what arrives and answers 500 to the
 * first server.offline delivery about `serverName`, then 200. Only that
 * server's: servers left by earlier tests go offline too, and their events
 * reach every webhook that asks for server.offline.
 */
async function startReceiver(serverName: string) {
  const hits: Hit[] = [];
  let refusedOnce = false;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      hits.push({ headers: req.headers, body });
      const refuse = req.headers["x-berth-event"] === "server.offline" && !refusedOnce && aboutServer(body, serverName);
      refusedOnce ||= refuse;
      res.writeHead(refuse ? 500 : 200).end(refuse ? "not now" : "ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/berth`, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

test("add a webhook in the console, see a real server-offline event arrive signed (after one retry), and follow it in the delivery log", async ({ page }) => {
  test.setTimeout(90_000);
  const stamp = Date.now().toString(36);
  const serverName = `ui-hook-srv-${stamp}`;
  const receiver = await startReceiver(serverName);
  try {
    const name = `ui-hook-${stamp}`;
    await signIn(page);
    await page.goto("/webhooks");
    await expect(page.getByRole("heading", { level: 1, name: "Webhooks" })).toBeVisible();

    // Add: a bad URL is refused with the reason; then name, URL and one event.
    await page.getByRole("button", { name: "Add webhook" }).click();
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("URL").fill("ftp://alerts.internal/berth");
    await page.getByLabel(/A replica failed/).uncheck();
    await page.getByLabel(/Audit log verification failed/).uncheck();
    await page.getByLabel(/A server went offline/).check();
    await page.getByRole("button", { name: "Add webhook" }).last().click();
    await expect(page.getByRole("alert")).toContainText("http:// or https://");
    await page.getByLabel("URL").fill(receiver.url);
    await page.getByRole("button", { name: "Add webhook" }).last().click();
    const secret = (await page.getByTestId("new-webhook-secret").textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    await page.screenshot({ path: "test-results/screenshots/webhook-added.png" });
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.getByTestId(`webhook-${name}`);
    await expect(row).toContainText("server.offline");
    await expect(row).toContainText("yes");
    // Shown once: not on the page now, not in the API.
    await expect(page.locator("body")).not.toContainText(secret);
    const { secret: token } = await adminToken(page.request);
    expect(await (await page.request.get("/api/v1/webhooks", { headers: bearer(token) })).text()).not.toContain(secret);

    // A real event: a fake agent enrols, then stops heartbeating; the e2e server marks it offline after 4 s.
    const added = await page.request.post("/api/v1/servers", { headers: bearer(token), data: { name: serverName } });
    expect(added.status()).toBe(201);
    const { enrolmentToken } = (await added.json()) as { enrolmentToken: string };
    const inventory = {
      hostname: `${serverName}-host`, os: { platform: "linux", release: "x", kernel: "6", arch: "x64" }, cpu: { model: "test", cores: 2 },
      memory: { totalBytes: 8e9, freeBytes: 4e9 }, disk: null, docker: { available: true, version: "test", apiVersion: "1.43", error: null }, gpus: [], agentVersion: "test", containers: [],
    };
    expect((await page.request.post("/api/v1/agent/enrol", { data: { token: enrolmentToken, inventory } })).status()).toBe(201);

    const ours = () => receiver.hits.filter((h) => h.headers["x-berth-event"] === "server.offline" && (JSON.parse(h.body) as { data: { server: { name: string } } }).data.server.name === serverName);
    await expect.poll(() => ours().length, { timeout: 45_000, intervals: [500] }).toBeGreaterThanOrEqual(2);
    const [refused, delivered] = ours();
    expect(delivered!.body).toBe(refused!.body);
    expect(delivered!.headers["x-berth-delivery"]).toBe(refused!.headers["x-berth-delivery"]);
    for (const hit of [refused!, delivered!]) {
      expect(hit.headers["content-type"]).toBe("application/json");
      expect(verifyDeliverySignature({ secret, timestamp: hit.headers["x-berth-timestamp"] as string, body: hit.body, signature: hit.headers["x-berth-signature"] as string })).toBe(true);
    }
    const body = JSON.parse(delivered!.body) as { id: string; event: string; createdAt: string; data: { server: { name: string }; offlineAfterSeconds: number } };
    expect(body).toMatchObject({ id: delivered!.headers["x-berth-delivery"], event: "server.offline", data: { server: { name: serverName }, offlineAfterSeconds: 4 } });

    // The delivery log shows it succeeded on the second attempt, after a 500.
    await page.getByRole("link", { name }).click();
    await expect(page.getByRole("heading", { name: `Webhook ${name}` })).toBeVisible();
    const log = page.getByTestId("deliveries-table").getByRole("row").filter({ hasText: body.id.slice(0, 8) });
    await expect(log).toContainText("succeeded", { timeout: 15_000 });
    await expect(log.getByRole("cell").nth(2)).toHaveText("2");
    await expect(log.getByRole("cell").nth(3)).toHaveText("200");
    await page.screenshot({ path: "test-results/screenshots/webhook-deliveries.png", fullPage: true });

    // Send test: a ping arrives and is logged.
    await page.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => receiver.hits.filter((h) => h.headers["x-berth-event"] === "ping").length, { timeout: 15_000 }).toBe(1);
    await expect(page.getByTestId("delivery-ping")).toContainText("succeeded", { timeout: 15_000 });

    // Delete, after confirming.
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Delete webhook" }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
    await expect(page.getByTestId(`webhook-${name}`)).toHaveCount(0);
    await page.request.delete(`/api/v1/servers/${serverName}`, { headers: bearer(token) });
  } finally {
    await receiver.close();
  }
});
