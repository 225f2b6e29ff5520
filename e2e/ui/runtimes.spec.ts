import { expect, test } from "@playwright/test";
import { adminToken, bearer, signIn } from "../fixtures";

test("register a runtime from the console; its registry password is stored but never shown or returned", async ({ page }) => {
  await signIn(page);
  await page.goto("/runtimes");
  await expect(page.getByTestId("runtimes-table")).toContainText("onnx");
  const name = `ui-triton-${Date.now().toString(36)}`;
  await page.getByRole("button", { name: "Register runtime" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Image").fill("Not A Valid Image!");
  await page.getByLabel("Registry username (optional)").fill("svc-berth");
  await page.getByLabel("Registry password (optional)").fill("pa55-registry-secret");
  await page.getByRole("button", { name: "Register runtime" }).last().click();
  await expect(page.getByRole("alert")).toContainText("image");

  await page.getByLabel("Image").fill("registry.internal/tritonserver:24.05-py3");
  await page.getByRole("button", { name: "Register runtime" }).last().click();
  const row = page.getByTestId("runtimes-table").getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("svc-berth (password stored encrypted)");
  await expect(page.locator("body")).not.toContainText("pa55-registry-secret");

  const { secret } = await adminToken(page.request);
  const api = await page.request.get(`/api/v1/runtimes/${name}`, { headers: bearer(secret) });
  expect(await api.text()).not.toContain("pa55-registry-secret");
  expect(((await api.json()) as { runtime: { hasRegistryPassword: boolean } }).runtime.hasRegistryPassword).toBe(true);
  const audit = await page.request.get("/api/v1/audit/events?limit=20", { headers: bearer(secret) });
  expect(await audit.text()).toContain("runtime.create");
  expect(await audit.text()).not.toContain("pa55-registry-secret");
});
