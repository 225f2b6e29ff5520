import { expect, test } from "@playwright/test";
import { ADMIN } from "./fixtures";

test("first visit goes to one-time setup, which creates the admin and signs them in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Welcome to Berth" })).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/setup.png" });

  await page.getByLabel("Your name").fill(ADMIN.name);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Confirm password").fill("short");
  await page.getByRole("button", { name: "Create administrator" }).click();
  // The browser's own check stops a too-short password before any request.
  await expect(page).toHaveURL(/\/setup$/);

  await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
  await page.getByLabel("Confirm password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Create administrator" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("current-user")).toHaveText(ADMIN.email);

  // Setup is closed for good once a user exists.
  const again = await page.request.post("/api/setup", { data: { email: "intruder@berth.test", name: "X", password: "another long password" } });
  expect(again.status()).toBe(409);
  expect((await again.json()).error.code).toBe("conflict");
  await page.goto("/setup");
  await expect(page).toHaveURL(/\/(login)?$/);
});
