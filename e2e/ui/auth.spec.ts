import { expect, test } from "@playwright/test";
import { ADMIN, adminToken, recentAuditEvents, signIn } from "../fixtures";

test("a wrong password is refused with the same message as an unknown email, and audited", async ({ page, playwright, baseURL }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  const refusal = page.getByRole("alert").filter({ hasText: /\S/ });
  await expect(refusal).toHaveText("That email and password do not match an account.");
  await expect(page).toHaveURL(/\/login/);
  await page.screenshot({ path: "test-results/screenshots/login-refused.png" });

  await page.getByLabel("Email").fill("nobody@berth.test");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(refusal).toHaveText("That email and password do not match an account.");

  const api = await playwright.request.newContext({ baseURL });
  const { secret } = await adminToken(api, "AUDITOR");
  const failures = (await recentAuditEvents(api, secret)).filter((e) => e.action === "auth.login" && e.outcome === "FAILURE");
  expect(failures.slice(0, 2).map((e) => e.details.reason)).toEqual(["unknown_user", "wrong_password"]);
  expect(failures[0]?.sourceAddress).toBe("127.0.0.1");
  await api.dispose();
});

test("sign in, visit every page of the shell, sign out", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/overview.png" });

  const nav = page.getByRole("navigation", { name: "Main" });
  for (const [label, heading, emptyText] of [
    // Other tests add models, servers and deployments, so those empty states are not asserted here.
    ["Models", "Models", null],
    ["Servers", "Servers", null],
    ["Deployments", "Deployments", null],
    ["Inference log", "Inference log", null],
    ["Runtimes", "Runtimes", "built in"],
    ["Audit", "Audit", null],
    ["Webhooks", "Webhooks", null],
    ["Settings", "Settings", null],
  ] as const) {
    await nav.getByRole("link", { name: label }).click();
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    await expect(nav.getByRole("link", { name: label })).toHaveAttribute("aria-current", "page");
    if (emptyText) await expect(page.getByText(emptyText)).toBeVisible();
    await page.screenshot({ path: `test-results/screenshots/${label.toLowerCase()}.png`, fullPage: true });
  }
  // The audit page shows this very sign-in.
  await nav.getByRole("link", { name: "Audit" }).click();
  await expect(page.getByTestId("audit-table").getByText("auth.login").first()).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login$/);
  // The old session cookie is dead on the server too, not just forgotten by the browser.
  expect((await page.request.get("/api/v1/me")).status()).toBe(401);
});

test("a signed-out visitor is sent to sign in from every page", async ({ page }) => {
  for (const path of ["/", "/models", "/servers", "/deployments", "/audit", "/webhooks", "/settings"]) {
    await page.goto(path);
    await expect(page, path).toHaveURL(/\/login$/);
  }
});

test("the session survives a reload and shows the user's role", async ({ page }) => {
  await signIn(page);
  await page.goto("/settings");
  await page.reload();
  await expect(page.getByText(`Signed in as ${ADMIN.email} (ADMIN).`)).toBeVisible();
});
