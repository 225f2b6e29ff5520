import { expect, test } from "@playwright/test";
import { bearer, signIn } from "../fixtures";

test("create an API token in Settings, see it once, use it, revoke it", async ({ page, playwright, baseURL }) => {
  await signIn(page);
  await page.goto("/settings");
  const name = `pipeline-${Date.now()}`;
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Role").selectOption("VIEWER");
  await page.getByRole("button", { name: "Create token" }).click();

  const secret = (await page.getByTestId("new-token-secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByTestId(`token-row-${name}`)).toContainText("active");
  await page.screenshot({ path: "test-results/screenshots/settings-token-created.png", fullPage: true });

  const api = await playwright.request.newContext({ baseURL });
  const me = await api.get("/api/v1/me", { headers: bearer(secret) });
  expect(me.status()).toBe(200);
  expect(await me.json()).toMatchObject({ kind: "API_TOKEN", role: "VIEWER" });

  // Shown once: after a reload only the prefix remains.
  await page.reload();
  await expect(page.getByTestId("new-token-secret")).toHaveCount(0);
  await expect(page.getByTestId(`token-row-${name}`)).toContainText(secret.slice(0, 12));
  expect(await page.content()).not.toContain(secret);

  // Revoking asks first; cancelling changes nothing.
  const row = page.getByTestId(`token-row-${name}`);
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByRole("alertdialog")).toContainText(`Revoke “${name}”?`);
  await page.screenshot({ path: "test-results/screenshots/settings-revoke-confirm.png" });
  await page.getByRole("button", { name: "Cancel" }).click();
  expect((await api.get("/api/v1/me", { headers: bearer(secret) })).status()).toBe(200);

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("button", { name: "Revoke token" }).click();
  await expect(row).toContainText("revoked");
  const after = await api.get("/api/v1/me", { headers: bearer(secret) });
  expect(after.status()).toBe(401);
  expect((await after.json()).error).toMatchObject({ code: "unauthenticated", message: "The API token has been revoked" });
  await api.dispose();
});
