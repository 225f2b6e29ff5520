import { chmodSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

// One fresh Berth (data folder, embedded database) per run. Workers inherit
// the environment, so they see the folder the main process made.
if (!process.env.BERTH_E2E_DATA_DIR) {
  process.env.BERTH_E2E_DATA_DIR = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-"));
  chmodSync(process.env.BERTH_E2E_DATA_DIR, 0o711);
}
const port = Number(process.env.BERTH_E2E_PORT ?? 3210);
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  timeout: 60_000,
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.BERTH_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    },
  },
  projects: [
    { name: "setup", testMatch: /first-run\.spec\.ts/ },
    { name: "api", testDir: "e2e/api", dependencies: ["setup"] },
    { name: "ui", testDir: "e2e/ui", dependencies: ["setup"], use: { viewport: { width: 1440, height: 900 } } },
  ],
  webServer: {
    command: "node --import tsx server/main.ts",
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 240_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      BERTH_DATA_DIR: process.env.BERTH_E2E_DATA_DIR,
      BERTH_PORT: String(port),
      BERTH_HOST: "127.0.0.1",
      BERTH_LOG_LEVEL: "warn",
      // Small enough that the over-limit test sends little.
      BERTH_MAX_ARTIFACT_BYTES: String(64 * 1024 * 1024),
      // Quick heartbeats so state changes show within seconds.
      BERTH_HEARTBEAT_SECONDS: "2",
      BERTH_OFFLINE_AFTER_SECONDS: "4",
      // Webhook retries within seconds (e2e/ui/webhooks.spec.ts).
      BERTH_WEBHOOK_RETRY_BASE_SECONDS: "1",
    },
  },
});
