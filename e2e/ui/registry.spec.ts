import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminToken, bearer, signIn } from "../fixtures";

const uniqueName = (prefix: string) => `${prefix}-${Date.now().toString(36)}`;

test("create a model, upload an ONNX version through the browser, and see its inputs and outputs", async ({ page }) => {
  await signIn(page);
  await page.goto("/models?q=no-such-model-anywhere");
  await expect(page.getByText("No models match “no-such-model-anywhere”")).toBeVisible();
  await page.goto("/models");
  const name = uniqueName("iris-ui");
  await page.getByRole("button", { name: "New model" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Task (optional)").fill("classification");
  await page.getByLabel("Tags (optional, comma-separated)").fill("tabular, demo");
  await page.getByRole("button", { name: "Create model" }).click();
  await expect(page).toHaveURL(new RegExp(`/models/${name}$`));
  await page.goto(`/models?q=${name}`);
  await expect(page.getByTestId("models-table").getByRole("link", { name })).toBeVisible();
  await page.getByTestId("models-table").getByRole("link", { name }).click();
  await expect(page.getByText("No versions yet.")).toBeVisible();

  await page.getByLabel("Model file").setInputFiles(path.resolve("samples/iris/iris-v1.onnx"));
  await expect(page.getByLabel("Format")).toHaveValue("onnx");
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const bar = page.getByRole("progressbar", { name: "Upload progress" });
  await expect(bar).toBeVisible();
  await expect(page.getByTestId("upload-status")).toHaveText("Uploaded: version 1 is registered.");
  await expect(bar).toHaveAttribute("aria-valuenow", "100");
  await page.screenshot({ path: "test-results/screenshots/model-uploaded.png", fullPage: true });

  // The page reloads itself; the new version is listed.
  await expect(page.getByTestId("versions-table").getByRole("link", { name: "1", exact: true })).toBeVisible();
  await page.getByTestId("versions-table").getByRole("link", { name: "1", exact: true }).click();
  await expect(page.getByRole("heading", { name: `${name} · version 1` })).toBeVisible();
  const inputs = page.getByTestId("onnx-inputs");
  await expect(inputs.getByRole("row", { name: "input float32 [N, 4]" })).toBeVisible();
  const outputs = page.getByTestId("onnx-outputs");
  await expect(outputs.getByRole("row", { name: "label int64 [N]" })).toBeVisible();
  await expect(outputs.getByRole("row", { name: "probabilities float32 [N, 3]" })).toBeVisible();
  // The stage is saved by a PATCH the select sends; reloading before it answers would cancel it.
  await Promise.all([
    page.waitForResponse((response) => response.request().method() === "PATCH" && response.url().includes(`/versions/`) && response.ok()),
    page.getByLabel("Stage").selectOption("production"),
  ]);
  await page.reload();
  await expect(page.getByLabel("Stage")).toHaveValue("production");
  await page.screenshot({ path: "test-results/screenshots/version-page.png", fullPage: true });

  // Downloading from the page gives the very bytes that went up.
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download" }).click();
  const file = await (await download).path();
  const { readFileSync } = await import("node:fs");
  expect(createHash("sha256").update(readFileSync(file)).digest("hex")).toBe(await page.getByTestId("version-sha256").textContent());
});

test("a browser upload pauses, resumes, and survives a page reload", async ({ page, request }) => {
  const { secret } = await adminToken(request, "OPERATOR");
  const name = uniqueName("resume-ui");
  await request.post("/api/v1/models", { headers: bearer(secret), data: { name } });
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-ui-upload-"));
  const file = path.join(dir, "weights.safetensors");
  const bytes = randomBytes(24 * 1024 * 1024);
  writeFileSync(file, bytes);

  await signIn(page);
  // Slow the browser's uploads to 4 MiB/s so there is time to pause (Chromium's own throttling, over CDP).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024 });
  await page.goto(`/models/${name}`);
  await page.getByLabel("Model file").setInputFiles(file);
  await expect(page.getByLabel("Format")).toHaveValue("safetensors");
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const bar = page.getByRole("progressbar", { name: "Upload progress" });
  await expect.poll(async () => Number(await bar.getAttribute("aria-valuenow")), { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
  await expect(page.getByTestId("upload-status")).toContainText("/s ·");
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("upload-status")).toContainText("Paused at");
  await page.screenshot({ path: "test-results/screenshots/upload-paused.png" });

  // Reload the page mid-upload, pick the same file again: it resumes instead of starting over.
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.getByLabel("Model file").setInputFiles(file);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await expect(page.getByText("Resuming an earlier upload of this file from where it stopped.")).toBeVisible();
  await expect(page.getByTestId("upload-status")).toHaveText("Uploaded: version 1 is registered.", { timeout: 30_000 });

  const version = await request.get(`/api/v1/models/${name}/versions/1`, { headers: bearer(secret) });
  expect((await version.json()).version).toMatchObject({ sha256: createHash("sha256").update(bytes).digest("hex"), sizeBytes: bytes.length, format: "safetensors" });
});
