import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { adminToken, bearer } from "./../fixtures";

/**
 * The compliance officer's path, end to end against the real server: filter
 * the log, export a range through the CLI, verify the file offline, verify
 * the live chain, and the refusals (bad ranges and formats, roles).
 */
const cliEnv = (secret: string) => ({ ...process.env, BERTH_URL: test.info().project.use.baseURL!, BERTH_TOKEN: secret });
const berth = (secret: string, args: string[]) => spawnSync("node", ["bin/berth.mjs", ...args], { env: cliEnv(secret), encoding: "utf8" });

test("filters narrow the log by action prefix, actor, outcome and details text, newest first", async ({ request }) => {
  const { secret } = await adminToken(request, "ADMIN", "audit-filter-admin");
  const model = `audit-filter-${Date.now()}`;
  expect((await request.post("/api/v1/models", { headers: bearer(secret), data: { name: model, description: "a needle for the search" } })).status()).toBe(201);
  expect((await request.patch(`/api/v1/models/${model}`, { headers: bearer(secret), data: { description: "changed" } })).status()).toBe(200);

  const list = async (query: string) => {
    const response = await request.get(`/api/v1/audit/events?${query}`, { headers: bearer(secret) });
    expect(response.status(), await response.text()).toBe(200);
    return ((await response.json()) as { events: { action: string; targetLabel: string; outcome: string; actorLabel: string }[] }).events;
  };
  const mine = await list(`action=model.&target=${model}`);
  expect(mine.map((e) => e.action)).toEqual(["model.update", "model.create"]);
  expect(mine.every((e) => e.actorLabel.startsWith("audit-filter-admin"))).toBe(true);
  expect((await list(`target=${model}&outcome=success&action=model.create`)).map((e) => e.action)).toEqual(["model.create"]);
  const future = new Date(Date.now() + 86_400_000).toISOString();
  expect(await list(`target=${model}&from=${encodeURIComponent(future)}`)).toEqual([]);

  // One bad query: a clear 400 that names the field.
  const inverted = await request.get(`/api/v1/audit/events?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z`, { headers: bearer(secret) });
  expect(inverted.status()).toBe(400);
  expect(JSON.stringify(await inverted.json())).toContain("from must be before to");
  const absurd = await request.get(`/api/v1/audit/events?from=0202-01-01T00:00:00Z`, { headers: bearer(secret) });
  expect(absurd.status()).toBe(400);
  expect(JSON.stringify(await absurd.json())).toContain("between 2000-01-01 and 2200-01-01");
  const format = await request.get(`/api/v1/audit/export?format=xml`, { headers: bearer(secret) });
  expect(format.status()).toBe(400);
  expect(JSON.stringify(await format.json())).toContain("format must be csv or jsonl");
  expect((await request.get(`/api/v1/audit/events/99999999999`, { headers: bearer(secret) })).status()).toBe(404);
});

test("berth audit export writes a JSON Lines file that berth audit verify checks offline; tampering is named by line", async ({ request }) => {
  const { secret } = await adminToken(request, "AUDITOR", "audit-export-auditor");
  const dir = mkdtempSync(path.join(os.tmpdir(), "berth-audit-e2e-"));
  const file = path.join(dir, "export.jsonl");
  const from = new Date(Date.now() - 3_600_000).toISOString();

  execFileSync("node", ["bin/berth.mjs", "audit", "export", "--from", from, "--format", "jsonl", "--output", file], { env: cliEnv(secret), encoding: "utf8" });
  const lines = readFileSync(file, "utf8").trimEnd().split("\n");
  expect(JSON.parse(lines[0]!)).toMatchObject({ type: "header", format: "berth-audit-export", exportedBy: expect.stringContaining("audit-export-auditor") });
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "end" });
  expect(lines.length).toBeGreaterThan(3);

  const verified = berth(secret, ["audit", "verify", file]);
  expect(verified.status, verified.stdout + verified.stderr).toBe(0);
  expect(verified.stdout).toMatch(/^export intact: \d+ events/);

  // Edit one event's actor on line 3: the verifier names line 3.
  const tampered = [...lines];
  const event = JSON.parse(tampered[2]!) as Record<string, unknown>;
  tampered[2] = JSON.stringify({ ...event, actorLabel: "someone-else@example.com" });
  writeFileSync(path.join(dir, "tampered.jsonl"), `${tampered.join("\n")}\n`);
  const caught = berth(secret, ["audit", "verify", path.join(dir, "tampered.jsonl")]);
  expect(caught.status).toBe(1);
  expect(caught.stdout).toMatch(/^EXPORT FAILS VERIFICATION: line 3: event \d+ was altered/);

  writeFileSync(path.join(dir, "truncated.jsonl"), `${lines.slice(0, -1).join("\n")}\n`);
  const truncated = berth(secret, ["audit", "verify", path.join(dir, "truncated.jsonl")]);
  expect(truncated.status).toBe(1);
  expect(truncated.stdout).toContain("truncated");

  const missing = berth(secret, ["audit", "verify", path.join(dir, "nope.jsonl")]);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain("no such file");

  // The export itself is on the record, with its filter.
  const byPrefix = (await (await request.get(`/api/v1/audit/events?action=audit.export&limit=5`, { headers: bearer(secret) })).json()) as {
    events: { actorLabel: string; details: { format: string; filter: { from: string } } }[];
  };
  expect(byPrefix.events[0]).toMatchObject({ actorLabel: expect.stringContaining("audit-export-auditor"), details: { format: "jsonl", filter: { from } } });

  // CSV through the API: a header row and the hashes.
  const csv = await request.get(`/api/v1/audit/export?format=csv&from=${encodeURIComponent(from)}&action=model.`, { headers: bearer(secret) });
  expect(csv.status()).toBe(200);
  expect(csv.headers()["content-type"]).toContain("text/csv");
  expect(csv.headers()["content-disposition"]).toMatch(/attachment; filename="berth-audit-.*\.csv"/);
  expect((await csv.text()).split("\r\n")[0]).toBe("seq,at,actor_kind,actor_id,actor_label,action,target_kind,target_id,target_label,outcome,source_address,request_id,details,prev_hash,hash");
});

test("berth audit verify --live walks the chain and is itself audited; AUDITOR cannot purge, ADMIN can only purge the past", async ({ request }) => {
  const { secret: auditor } = await adminToken(request, "AUDITOR", "audit-live-auditor");
  const live = berth(auditor, ["audit", "verify", "--live"]);
  expect(live.status, live.stdout + live.stderr).toBe(0);
  expect(live.stdout).toMatch(/^chain intact: \d+ events checked in \d+ ms; head is event \d+ \([0-9a-f]{64}\)/);
  const verify = (await (await request.get(`/api/v1/audit/events?action=audit.verify&limit=1`, { headers: bearer(auditor) })).json()) as { events: { outcome: string; actorLabel: string }[] };
  expect(verify.events[0]).toMatchObject({ outcome: "SUCCESS", actorLabel: expect.stringContaining("audit-live-auditor") });

  const refused = await request.post("/api/v1/audit/purge", { headers: bearer(auditor), data: { before: "2020-01-01T00:00:00Z" } });
  expect(refused.status()).toBe(403);
  const denied = (await (await request.get(`/api/v1/audit/events?action=audit.purge&outcome=denied&limit=1`, { headers: bearer(auditor) })).json()) as { events: { actorLabel: string }[] };
  expect(denied.events[0]?.actorLabel).toContain("audit-live-auditor");

  const { secret: admin } = await adminToken(request, "ADMIN", "audit-purge-admin");
  const recent = await request.post("/api/v1/audit/purge", { headers: bearer(admin), data: { before: new Date().toISOString() } });
  expect(recent.status()).toBe(400);
  expect(JSON.stringify(await recent.json())).toContain("at least a day in the past");
  // Nothing in this fresh install is a day old: the purge deletes nothing, says so, and is on the record.
  const preview = berth(admin, ["audit", "purge", "--before", "2020-01-01T00:00:00Z"]);
  expect(preview.stdout).toContain("nothing to purge");
  const purge = berth(admin, ["audit", "purge", "--before", "2020-01-01T00:00:00Z", "--yes", "--json"]);
  expect(purge.status, purge.stderr).toBe(0);
  expect(JSON.parse(purge.stdout)).toEqual({ purged: 0, checkpoint: null });
  const after = berth(auditor, ["audit", "verify", "--live"]);
  expect(after.status).toBe(0);
});
