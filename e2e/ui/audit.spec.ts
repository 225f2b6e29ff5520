import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { expect, test } from "@playwright/test";
import { signIn } from "../fixtures";
import { verifyAuditExport } from "../../lib/audit/verify-export";

test("the audit explorer: filter, open an event with its hashes, verify the chain, export JSON Lines that verifies offline", async ({ page }) => {
  await signIn(page);
  const model = `audit-ui-${Date.now()}`;
  expect((await page.request.post("/api/v1/models", { data: { name: model, description: "made for the audit explorer test" } })).status()).toBe(201);

  await page.goto("/audit");
  await expect(page.getByRole("heading", { level: 1, name: "Audit" })).toBeVisible();
  await expect(page.getByText("kept forever")).toBeVisible();

  // Filter to this model's events by action prefix and target.
  const filters = page.getByRole("form", { name: "Filter events" });
  await filters.getByLabel("Action").fill("model.");
  await filters.getByLabel("Target").fill(model);
  await filters.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=model\.&target=audit-ui-/);
  const rows = page.getByTestId("audit-table").locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("model.create");
  await page.screenshot({ path: "test-results/screenshots/audit-filtered.png", fullPage: true });

  // A bad range is explained, not thrown.
  await page.goto("/audit?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z");
  await expect(page.getByRole("alert").filter({ hasText: /\S/ })).toContainText("from must be before to");

  // The event's detail view: every field, its hash and the previous hash.
  await page.goto(`/audit?action=model.create&target=${model}`);
  await rows.first().getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1, name: /^Event \d+$/ })).toBeVisible();
  const detail = page.getByTestId("audit-event");
  await expect(detail).toContainText("model.create");
  await expect(detail).toContainText("Previous hash");
  await expect(page.getByTestId("event-hash")).toHaveText(/^[0-9a-f]{64}$/);
  await expect(detail).toContainText("matches the content");
  await page.screenshot({ path: "test-results/screenshots/audit-event.png", fullPage: true });

  // Verify the whole chain now.
  await page.goto("/audit");
  const status = page.getByTestId("chain-status");
  await status.getByRole("button", { name: "Verify chain now" }).click();
  await expect(status).toContainText(/Intact: [\d,]+ events checked/);
  await page.screenshot({ path: "test-results/screenshots/audit-verified.png" });
  // The run is on the record, and the page says so on the next visit.
  await page.reload();
  await expect(page.getByTestId("chain-status")).toContainText(/Intact when last verified .* by admin@berth\.test/);

  // Export the filtered range as JSON Lines from the browser; the file verifies offline.
  await page.goto(`/audit?target=${model}`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export JSON Lines" }).click()]);
  expect(download.suggestedFilename()).toMatch(/^berth-audit-.*\.jsonl$/);
  const text = await readFile((await download.path())!, "utf8");
  const result = await verifyAuditExport(Readable.from([text]));
  expect(result).toMatchObject({ ok: true, events: 1 });
  expect(result.ok && result.links).toBeGreaterThan(0);
});
