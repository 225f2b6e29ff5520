import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminToken, bearer, signIn } from "../fixtures";
import { startAgent } from "../agent-process";

const samples = path.resolve(import.meta.dirname, "../../samples/iris");
const expected = JSON.parse(readFileSync(path.join(samples, "expected.json"), "utf8")) as {
  inputs: number[][];
  v1: { outputs: { label: number; probabilities: number[] }[] };
  v2: { outputs: { label: number; probabilities: number[] }[] };
};

// A real agent runs real containers on this machine's Docker Engine: give it time for the first image load.
test.setTimeout(240_000);

test("deploy the iris model with the wizard, ask it through Try it, roll out version 2, and delete it", async ({ page, baseURL }) => {
  const stamp = Date.now().toString(36);
  const model = `ui-iris-${stamp}`;
  const server = `ui-host-${stamp}`;
  const name = `ui-dep-${stamp}`;
  const { secret } = await adminToken(page.request);
  const headers = bearer(secret);
  expect((await page.request.post("/api/v1/models", { headers, data: { name: model } })).status()).toBe(201);
  for (const file of ["iris-v1.onnx", "iris-v2.onnx"]) {
    const upload = await page.request.post(`/api/v1/models/${model}/versions?format=onnx&fileName=${file}`, {
      headers: { ...headers, "content-type": "application/octet-stream" },
      data: readFileSync(path.join(samples, file)),
    });
    expect(upload.status(), await upload.text()).toBe(201);
  }
  const added = await page.request.post("/api/v1/servers", { headers, data: { name: server, labels: { pool: `ui-${stamp}` } } });
  const { enrolmentToken } = (await added.json()) as { enrolmentToken: string };
  const agent = startAgent({ url: baseURL!, token: enrolmentToken, args: ["--advertise-address", "127.0.0.1"] });
  try {
    await expect
      .poll(async () => ((await (await page.request.get(`/api/v1/servers/${server}`, { headers })).json()) as { server: { state: string } }).server.state, { timeout: 30_000 })
      .toBe("online");

    await signIn(page);
    await page.goto("/deployments");
    await page.getByRole("link", { name: "New deployment" }).click();
    await page.getByLabel("Deployment name").fill(name);
    await page.getByLabel("Model", { exact: true }).selectOption(model);
    await page.getByLabel("Version", { exact: true }).selectOption("1");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel(`Server ${server}`).check();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Memory per replica").fill("512m");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByTestId("wizard-review")).toContainText(`${model}@1`);
    await page.screenshot({ path: "test-results/screenshots/deployment-wizard.png" });
    await page.getByRole("button", { name: "Create deployment" }).click();

    await expect(page).toHaveURL(new RegExp(`/deployments/${name}$`));
    await expect(page.getByTestId("deployment-status")).toHaveText("running", { timeout: 180_000 });
    await expect(page.getByTestId("ready-replicas")).toHaveText("1 of 1");

    // Try it: the form is made from the model's input signature.
    await page.getByLabel("Input input").fill(JSON.stringify([expected.inputs[0], expected.inputs[2]]));
    await page.getByRole("button", { name: "Send request" }).click();
    await expect(page.getByTestId("try-it-result")).toContainText("HTTP 200");
    await expect(page.getByTestId("output-label")).toHaveText(JSON.stringify([expected.v1.outputs[0]!.label, expected.v1.outputs[2]!.label]));
    await expect(page.getByTestId("metrics-summary")).toContainText(/[1-9]\d* requests/, { timeout: 15_000 });
    await expect(page.getByTestId("logs-0")).not.toHaveText("(no output yet)", { timeout: 20_000 });
    await page.screenshot({ path: "test-results/screenshots/deployment-page.png", fullPage: true });

    // Roll out version 2 from the page; the ledger then shows both versions.
    await page.getByLabel("Version to roll out").selectOption("2");
    await page.getByRole("button", { name: "Roll out" }).click();
    await expect(page.getByTestId("events")).toContainText("Rolling update", { timeout: 15_000 });
    await expect
      .poll(async () => {
        const { deployment } = (await (await page.request.get(`/api/v1/deployments/${name}`, { headers })).json()) as { deployment: { status: string; replicaStatuses: { version: string }[] } };
        return `${deployment.status} ${deployment.replicaStatuses.map((r) => r.version).join(",")}`;
      }, { timeout: 120_000 })
      .toBe("running 2");
    await expect(page.getByTestId("replica-0-current").getByTestId("replica-phase")).toHaveText("ready", { timeout: 10_000 });
    await expect(page.getByTestId("ledger")).toContainText("replaced by", { timeout: 10_000 });
    await page.getByLabel("Input input").fill(JSON.stringify([expected.inputs[0]]));
    await page.getByRole("button", { name: "Send request" }).click();
    const probabilities = JSON.parse((await page.getByTestId("output-probabilities").textContent())!) as number[];
    expected.v2.outputs[0]!.probabilities.forEach((p, i) => expect(probabilities[i]).toBeCloseTo(p, 5));

    // The request is in the inference log (written about a second later), filterable by deployment.
    await expect
      .poll(async () => {
        await page.goto(`/inference-log?deployment=${name}&status=2xx`);
        return page.getByTestId("inference-log").getByRole("row").count();
      }, { timeout: 15_000 })
      .toBeGreaterThan(2);
    await expect(page.getByTestId("inference-log")).toContainText(`/api/v1/infer/${name}/v2/models/${model}/infer`);

    // The Overview shows the live fleet: an online server with its capacity, the running deployment and its traffic.
    await page.goto("/");
    await expect(page.getByTestId("fleet-health")).toContainText("online");
    await expect(page.getByTestId("deployments-by-state").getByTestId("overview-status").filter({ hasText: "running" })).toBeVisible();
    await expect(page.getByTestId("capacity").getByRole("meter", { name: "Memory used" }).first()).toBeVisible();
    await expect(page.getByRole("region", { name: `Traffic: ${name}` }).getByTestId("metrics-summary")).toContainText(/[1-9]\d* requests/, { timeout: 15_000 });
    await expect(page.getByTestId("recent-activity")).toContainText("deployment.");
    await page.screenshot({ path: "test-results/screenshots/overview-live.png", fullPage: true });

    await page.goto(`/deployments/${name}`);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Delete deployment" }).click();
    await expect(page).toHaveURL(/\/deployments$/);
    await expect(page.getByTestId(`deployment-row-${name}`)).toHaveCount(0, { timeout: 60_000 });
    const versionPage = await page.request.get(`/api/v1/models/${model}/versions/1/ledger`, { headers });
    const { entries } = (await versionPage.json()) as { entries: { deployment: string; stoppedAt: string | null }[] };
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.deployment === name && e.stoppedAt !== null)).toBe(true);
  } finally {
    await agent.stop();
  }
});
