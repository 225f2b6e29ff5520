import { expect, test } from "@playwright/test";
import { signIn } from "../fixtures";
import { startAgent } from "../agent-process";

test("add a server, copy the enrolment command, and watch it come online when a real agent runs it", async ({ page, context, baseURL }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signIn(page);
  await page.goto("/servers");
  const name = `ui-node-${Date.now().toString(36)}`;
  await page.getByRole("button", { name: "Add server" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Labels (optional)").fill("gpu=a100 zone=dc1");
  await page.getByRole("button", { name: "Add server" }).last().click();

  const npx = page.getByTestId("enrol-npx");
  await expect(npx).toContainText(`npx berth agent --url ${baseURL} --token berth_enrol_`);
  await page.getByRole("button", { name: "Copy the npx command" }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await npx.textContent());
  await expect(page.getByTestId("enrol-systemd")).toContainText("ExecStart=/usr/bin/node /opt/berth/berth-agent.mjs");
  await expect(page.getByTestId("enrol-docker")).toContainText("-v /var/run/docker.sock:/var/run/docker.sock");
  await page.screenshot({ path: "test-results/screenshots/server-enrolment.png" });
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId(`server-row-${name}`).getByTestId("server-state")).toHaveText("pending");

  // Run exactly what was copied (as `berth agent`, from this checkout).
  const token = /--token (\S+)/.exec(copied)![1]!;
  const url = /--url (\S+)/.exec(copied)![1]!;
  const agent = startAgent({ url, token });
  try {
    await expect(page.getByTestId(`server-row-${name}`).getByTestId("server-state")).toHaveText("online", { timeout: 20_000 });
    await page.getByTestId(`server-row-${name}`).getByRole("link", { name }).click();
    await expect(page.getByTestId("inventory")).toContainText("Agent");
    await expect(page.getByTestId("server-history")).toContainText("server.enrol");
    await page.screenshot({ path: "test-results/screenshots/server-page.png", fullPage: true });
    await page.getByRole("button", { name: "Drain" }).click();
    await expect(page.getByTestId("server-state")).toHaveText("draining");
    await expect.poll(() => agent.log(), { timeout: 15_000 }).toContain("connected (draining)");
  } finally {
    await agent.stop();
  }
});
