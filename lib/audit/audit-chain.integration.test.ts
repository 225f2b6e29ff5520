import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { asSuperuser, connectTestDatabase } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { chainHash, type ChainedFields } from "./canonical";
import { AUDIT_EXPORT_APPLICATION, openAuditExport, type AuditExportFormat } from "./export";
import type { AuditFilter } from "./filters";
import { getAuditEvent, listAuditEvents } from "./list-events";
import { recordAuditEvent, recordStandaloneAuditEvent, SYSTEM_ACTOR, type AuditActor } from "./record-event";
import { applyAuditRetention, latestCheckpoint, purgeAuditEvents } from "./retention";
import { verifyAuditChain } from "./verify-chain";
import { verifyAuditExport } from "./verify-export";

const url = connectTestDatabase();
const request = { requestId: "test", sourceAddress: "127.0.0.1" };
const auditor: AuditActor = { kind: "USER", id: "u-auditor", label: "auditor@example.com" };

const asDbSuperuser = (text: string, params: unknown[] = []) => asSuperuser(url, text, params);

async function sql(text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

async function record(action: string, details: Record<string, unknown> = {}, actor: AuditActor = SYSTEM_ACTOR) {
  return recordStandaloneAuditEvent({ actor, request, action, details });
}

async function exportText(filter: AuditFilter, format: AuditExportFormat = "jsonl"): Promise<string> {
  const opened = await openAuditExport({ actor: auditor, request, filter, format });
  const chunks: Buffer[] = [];
  for await (const chunk of opened.chunks) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  // Decoded once: a chunk may end inside a multi-byte character.
  return Buffer.concat(chunks).toString("utf8");
}

const verifyText = (text: string) => verifyAuditExport(Readable.from([text]));

describe("the audit chain", () => {
  it("links every event to the one before it (hashed in the database, checked in JavaScript), and verifies", async () => {
    const first = await record("test.first", { n: 1, text: 'quotes " and \\ and \n newlines, ünïcödé, \u2028' });
    const second = await record("test.second", { n: 2, nested: { b: [1, { z: null, a: true }], a: -0.5 } });
    const row = await getDb().auditEvent.findUniqueOrThrow({ where: { seq: second.seq } });
    expect(row.prevHash).toBe(first.hash);
    expect(row.hash).toBe(second.hash);
    // The hash the database computed is the one the documented canonical form gives.
    const fields: ChainedFields = {
      seq: row.seq.toString(), at: row.at.toISOString(), actorKind: row.actorKind, actorId: row.actorId, actorLabel: row.actorLabel,
      action: row.action, targetKind: row.targetKind, targetId: row.targetId, targetLabel: row.targetLabel, outcome: row.outcome,
      sourceAddress: row.sourceAddress, requestId: row.requestId, details: row.details,
    };
    expect(chainHash(row.prevHash, fields)).toBe(row.hash);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, headHash: second.hash, headSeq: second.seq.toString() });
  });

  it("keeps one order under concurrent writers", async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => record("test.concurrent", { i })));
    expect((await verifyAuditChain()).ok).toBe(true);
    const hashes = await getDb().auditEvent.findMany({ select: { prevHash: true } });
    // No two events claim the same predecessor: the chain did not fork.
    expect(new Set(hashes.map((h) => h.prevHash)).size).toBe(hashes.length);
  });

  it("appends concurrent standalone events together, each resolving with its own committed event; one the database refuses fails alone", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => record("test.batched", i === 30 ? { text: "NUL \u0000 jsonb cannot hold" } : { i })),
    );
    const refused = results.filter((r) => r.status === "rejected");
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/unsupported Unicode escape|\\u0000/);
    const appended = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(new Set(appended.map((e) => e.seq)).size).toBe(59);
    const rows = await getDb().auditEvent.findMany({ where: { seq: { in: appended.map((e) => e.seq) } } });
    expect(new Map(rows.map((row) => [row.seq, row.hash]))).toEqual(new Map(appended.map((e) => [e.seq, e.hash])));
    expect((await verifyAuditChain()).ok).toBe(true);
  });

  it("rolls the change back when the audit write fails, and writes no event", async () => {
    const before = await getDb().auditEvent.count();
    await expect(
      getDb().$transaction(async (tx) => {
        await tx.user.create({ data: { email: "rollback@example.com", name: "R", passwordHash: "x", role: "VIEWER" } });
        // Fault injection: secrets in details are refused, which fails the audit write.
        await recordAuditEvent(tx, { actor: SYSTEM_ACTOR, request, action: "user.create", details: { password: "hunter2" } });
      }),
    ).rejects.toThrow(/must not contain secrets/);
    expect(await getDb().user.findUnique({ where: { email: "rollback@example.com" } })).toBeNull();
    expect(await getDb().auditEvent.count()).toBe(before);
  });

  it("refuses malformed action names", async () => {
    await expect(record("NotDotted")).rejects.toThrow(/dotted/);
  });

  it("is refused UPDATE, DELETE and TRUNCATE by the database itself", async () => {
    await record("test.immutable");
    await expect(sql("UPDATE audit_events SET action = 'test.edited'")).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(sql("DELETE FROM audit_events")).rejects.toThrow(/append-only: DELETE of event \d+ refused/);
    await expect(sql("TRUNCATE audit_events")).rejects.toThrow(/append-only: TRUNCATE refused/);
    await expect(sql("DELETE FROM audit_checkpoints")).resolves.toBeDefined(); // empty table: nothing to refuse yet
    expect(await getDb().auditEvent.count({ where: { action: "test.edited" } })).toBe(0);
  });
});

describe("tampering by a database superuser with the trigger disabled", () => {
  async function fiveEvents() {
    const events = [];
    for (let i = 0; i < 5; i++) events.push(await record("test.tamper", { i, amount: 10 * i }));
    return events.map((e) => e.seq);
  }

  it("an edited event is named", async () => {
    const seqs = await fiveEvents();
    await asDbSuperuser(`UPDATE audit_events SET details = '{"i": 2, "amount": 1000}' WHERE seq = $1`, [seqs[2]!.toString()]);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: false, seq: seqs[2]!.toString(), problem: "hash_mismatch" });
    expect((await getAuditEvent(seqs[2]!))?.contentMatchesHash).toBe(false);
    await asDbSuperuser(`UPDATE audit_events SET details = '{"i": 2, "amount": 20}' WHERE seq = $1`, [seqs[2]!.toString()]);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });

  it("a deleted event is named at the event that followed it", async () => {
    const seqs = await fiveEvents();
    const saved = await asDbSuperuser(`DELETE FROM audit_events WHERE seq = $1 RETURNING *`, [seqs[2]!.toString()]);
    const result = await verifyAuditChain();
    expect(result).toMatchObject({ ok: false, seq: seqs[3]!.toString(), problem: "broken_link" });
    expect(result.ok === false && result.message).toMatch(new RegExp(`does not follow event ${seqs[1]}`));
    const row = saved.rows[0] as Record<string, unknown>;
    const columns = Object.keys(row);
    await asDbSuperuser(`INSERT INTO audit_events (${columns.join(",")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(",")})`, Object.values(row));
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });

  it("an inserted event, even one with a correct hash of its own, is caught at the next event", async () => {
    await record("test.tamper", { before: "gap" });
    // A gap in seq, as a rolled-back transaction leaves: room for a forgery.
    const [{ gap }] = (await sql(`SELECT nextval(pg_get_serial_sequence('audit_events', 'seq'))::text AS gap`)).rows as [{ gap: string }];
    const after = await record("test.tamper", { after: "gap" });
    const previous = await getDb().auditEvent.findFirstOrThrow({ where: { seq: { lt: BigInt(gap) } }, orderBy: { seq: "desc" } });
    const forged: ChainedFields = {
      seq: gap, at: new Date().toISOString(), actorKind: "USER", actorId: null, actorLabel: "ceo@example.com", action: "model.delete",
      targetKind: "model", targetId: null, targetLabel: "fraud-detector", outcome: "SUCCESS", sourceAddress: null, requestId: null, details: {},
    };
    const forgedHash = chainHash(previous.hash, forged);
    await asDbSuperuser(
      `INSERT INTO audit_events (seq, at, actor_kind, actor_label, action, target_kind, target_label, outcome, details, prev_hash, hash)
       VALUES ($1, $2, 'USER', 'ceo@example.com', 'model.delete', 'model', 'fraud-detector', 'SUCCESS', '{}', $3, $4)`,
      [gap, forged.at, previous.hash, forgedHash],
    );
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: false, seq: after.seq.toString(), problem: "broken_link" });
    await asDbSuperuser(`DELETE FROM audit_events WHERE seq = $1`, [gap]);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });

  it("two reordered events are named at the first of them", async () => {
    const seqs = await fiveEvents();
    const [a, b] = [seqs[1]!.toString(), seqs[2]!.toString()];
    await asDbSuperuser(`UPDATE audit_events SET seq = -1 WHERE seq = $1`, [a]);
    await asDbSuperuser(`UPDATE audit_events SET seq = $1 WHERE seq = $2`, [a, b]);
    await asDbSuperuser(`UPDATE audit_events SET seq = $1 WHERE seq = -1`, [b]);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: false, seq: a, problem: "broken_link" });
    await asDbSuperuser(`UPDATE audit_events SET seq = -1 WHERE seq = $1`, [a]);
    await asDbSuperuser(`UPDATE audit_events SET seq = $1 WHERE seq = $2`, [a, b]);
    await asDbSuperuser(`UPDATE audit_events SET seq = $1 WHERE seq = -1`, [b]);
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});

describe("the explorer's filters", () => {
  it("match action prefixes literally, actors, targets, outcomes and text in details, newest first", async () => {
    const alice: AuditActor = { kind: "USER", id: "u-alice", label: "alice@example.com" };
    await recordStandaloneAuditEvent({ actor: alice, request, action: "filtertest.enrolment_token", target: { kind: "server", id: "s1", label: "gpu-01" }, details: { note: "Needle in a haystack" } });
    await recordStandaloneAuditEvent({ actor: alice, request, action: "filtertest.enrolmentxtoken", outcome: "DENIED" });
    await recordStandaloneAuditEvent({ actor: SYSTEM_ACTOR, request, action: "filtertest.other", target: { kind: "server", id: "s2", label: "gpu-02" } });

    const actions = async (filter: AuditFilter) => (await listAuditEvents({ filter, limit: 50 })).events.map((e) => e.action);
    expect(await actions({ action: "filtertest." })).toEqual(["filtertest.other", "filtertest.enrolmentxtoken", "filtertest.enrolment_token"]);
    // `_` is not a wildcard.
    expect(await actions({ action: "filtertest.enrolment_" })).toEqual(["filtertest.enrolment_token"]);
    expect(await actions({ action: "filtertest.", actor: "alice@example.com" })).toEqual(["filtertest.enrolmentxtoken", "filtertest.enrolment_token"]);
    expect(await actions({ action: "filtertest.", actor: "u-alice", outcome: "DENIED" })).toEqual(["filtertest.enrolmentxtoken"]);
    expect(await actions({ target: "gpu-02" })).toEqual(["filtertest.other"]);
    expect(await actions({ q: "needle IN" })).toEqual(["filtertest.enrolment_token"]);
    expect(await actions({ q: "100%" })).toEqual([]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await actions({ action: "filtertest.", from: future })).toEqual([]);
  });

  it("pages by seq without repeating or skipping", async () => {
    for (let i = 0; i < 7; i++) await record("pagetest.event", { i });
    const seen: number[] = [];
    let before: bigint | undefined;
    for (;;) {
      const page = await listAuditEvents({ filter: { action: "pagetest." }, limit: 3, before });
      seen.push(...page.events.map((e) => (e.details as { i: number }).i));
      if (!page.nextBefore) break;
      before = BigInt(page.nextBefore);
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);
  });
});

describe("exports", () => {
  it("a JSON Lines export verifies offline, filtered or not, and is itself audited", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    for (let i = 0; i < 4; i++) await record(i % 2 ? "exporttest.odd" : "exporttest.even", { i });
    const all = await exportText({ from });
    const lines = all.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: "header", format: "berth-audit-export", version: 1 });
    expect(lines.filter((l) => l.type === "event")).toHaveLength(4);
    expect(lines.at(-1)).toMatchObject({ type: "end", events: 4, links: 0 });
    await expect(verifyText(all)).resolves.toMatchObject({ ok: true, events: 4, links: 0 });

    const odd = await exportText({ from, action: "exporttest.odd" });
    const oddLines = odd.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(oddLines.filter((l) => l.type === "event").map((l) => (l.details as { i: number }).i)).toEqual([1, 3]);
    // Left out, but in their place: the two even events and the first export's own audit event.
    expect(oddLines.filter((l) => l.type === "link")).toHaveLength(3);
    await expect(verifyText(odd)).resolves.toMatchObject({ ok: true, events: 2, links: 3 });

    const exports = await listAuditEvents({ filter: { action: "audit.export", actor: auditor.label }, limit: 2 });
    expect(exports.events[0]).toMatchObject({ outcome: "SUCCESS", details: { format: "jsonl", filter: { from, action: "exporttest.odd" } } });
  });

  it("a tampered, truncated or reordered export fails offline with the line named", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    for (let i = 0; i < 4; i++) await record("verifytest.event", { i });
    const text = await exportText({ from, action: "verifytest." });
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(6);

    const edited = [...lines];
    edited[2] = edited[2]!.replace('"i": 1', '"i": 9');
    expect(edited[2]).not.toBe(lines[2]);
    await expect(verifyText(edited.join("\n"))).resolves.toMatchObject({ ok: false, line: 3, message: expect.stringMatching(/altered/) });

    const removed = lines.filter((_, i) => i !== 2);
    await expect(verifyText(removed.join("\n"))).resolves.toMatchObject({ ok: false, line: 3, message: expect.stringMatching(/does not follow/) });

    const swapped = [lines[0], lines[2], lines[1], ...lines.slice(3)];
    await expect(verifyText(swapped.join("\n"))).resolves.toMatchObject({ ok: false, line: 2, message: expect.stringMatching(/does not follow/) });

    await expect(verifyText(lines.slice(0, 4).join("\n"))).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/truncated/) });
    await expect(verifyText(`${lines.slice(0, 3).join("\n")}\n${lines[3]!.slice(0, 40)}`)).resolves.toMatchObject({ ok: false, line: 4, message: expect.stringMatching(/not a JSON object/) });
    await expect(verifyText("seq,at\n1,2\n")).resolves.toMatchObject({ ok: false, line: 1, message: expect.stringMatching(/CSV/) });
    await expect(verifyText("")).resolves.toMatchObject({ ok: false, message: expect.stringMatching(/empty/) });
  });

  it("the Python verifier printed in docs/audit-verification.md agrees: intact export passes, edited one fails", async () => {
    const doc = await readFile(path.join(process.cwd(), "docs/audit-verification.md"), "utf8");
    const program = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(program).toBeTruthy();
    const dir = await mkdtemp(path.join(os.tmpdir(), "berth-audit-py-"));
    await writeFile(path.join(dir, "verify_berth_audit.py"), program!);
    const from = new Date(Date.now() - 1).toISOString();
    await record("pythontest.event", { text: "ünïcödé \"quoted\" \n", n: 0.5, list: [3, 1, 2], nested: { z: 1, a: null } });
    await record("pythontest.other", {});
    const text = await exportText({ from, action: "pythontest.event" });
    await writeFile(path.join(dir, "export.jsonl"), text);
    const python = (file: string) => spawnSync("python3", [path.join(dir, "verify_berth_audit.py"), path.join(dir, file)], { encoding: "utf8" });
    const intact = python("export.jsonl");
    expect(intact.stdout.trim(), intact.stderr).toBe("export intact");
    expect(intact.status).toBe(0);
    await writeFile(path.join(dir, "edited.jsonl"), text.replace('"n": 0.5', '"n": 0.25'));
    const edited = python("edited.jsonl");
    expect(edited.stdout).toMatch(/line 2: event \d+ was altered/);
    expect(edited.status).toBe(1);
    await rm(dir, { recursive: true, force: true });
  });

  it("CSV carries the selected events with their hashes, and quotes what a spreadsheet would run", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    await recordStandaloneAuditEvent({ actor: { kind: "USER", id: null, label: "=HYPERLINK(\"x\")" }, request, action: "csvtest.event", details: { a: "b,c" } });
    const csv = await exportText({ from, action: "csvtest." }, "csv");
    const [header, row] = csv.split("\r\n");
    expect(header).toBe("seq,at,actor_kind,actor_id,actor_label,action,target_kind,target_id,target_label,outcome,source_address,request_id,details,prev_hash,hash");
    expect(row).toContain(`"'=HYPERLINK(""x"")"`);
    expect(row).toMatch(/,[0-9a-f]{64},[0-9a-f]{64}$/);
  });
});

describe("exports of hostile text", () => {
  // Every character class that breaks a hand-made renderer: quotes, separators, CR/LF, backslashes, tabs,
  // control characters (PostgreSQL text holds all but NUL), spreadsheet formula starts, non-ASCII, U+2028.
  const nasty = [
    'quote " and "" twice', "comma, semicolon; tab\there", "line\nbreak and\r\ncrlf\rcr", "back\\slash \\n not a newline",
    "=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", "\tleading tab", "\rleading cr", "ctl \u0001\u0008\u000b\u000c\u001b\u001f\u007f",
    "ünïcödé ✓ 😀 \u2028 \u2029", "", " ", "'already quoted'",
  ];

  it("JSON Lines round-trips every field exactly and verifies offline (Node and Python); CSV parses back to the same values", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    const recorded: { label: string; details: Record<string, unknown> }[] = [];
    for (const [i, text] of nasty.entries()) {
      const label = text || "empty-details-text";
      const details = { text, [text || "k"]: [text, i, null], nested: { "a,b": text } };
      await recordStandaloneAuditEvent({
        actor: { kind: "USER", id: text, label },
        request: { requestId: `req ${text}`, sourceAddress: null },
        action: "hostiletest.event",
        target: { kind: "model", id: text, label: text },
        details,
      });
      recorded.push({ label, details });
    }
    await record("hostiletest.other", { left: "out" });

    const jsonl = await exportText({ from, action: "hostiletest.event" });
    await expect(verifyText(jsonl)).resolves.toMatchObject({ ok: true, events: nasty.length, links: 1 });
    const events = jsonl.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === "event");
    expect(events.map((e) => [e.actorId, e.actorLabel, e.targetId, e.targetLabel, e.requestId, e.details])).toEqual(
      nasty.map((text, i) => [text, recorded[i]!.label, text, text, `req ${text}`, recorded[i]!.details]),
    );
    // Each line is one physical line: no raw CR, LF or U+2028 splits a record.
    expect(jsonl.trimEnd().split("\n")).toHaveLength(nasty.length + 3);

    const dir = await mkdtemp(path.join(os.tmpdir(), "berth-audit-hostile-"));
    try {
      const doc = await readFile(path.join(process.cwd(), "docs/audit-verification.md"), "utf8");
      await writeFile(path.join(dir, "verify_berth_audit.py"), /```python\n([\s\S]*?)```/.exec(doc)![1]!);
      await writeFile(path.join(dir, "export.jsonl"), jsonl);
      const python = spawnSync("python3", [path.join(dir, "verify_berth_audit.py"), path.join(dir, "export.jsonl")], { encoding: "utf8" });
      expect(python.stdout.trim(), python.stderr).toBe("export intact");

      // CSV, read back by Python's csv module (an independent parser): the same values, formula starts defused with '.
      const csv = await exportText({ from, action: "hostiletest.event" }, "csv");
      await writeFile(path.join(dir, "export.csv"), csv);
      const read = spawnSync("python3", ["-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))", path.join(dir, "export.csv")], { encoding: "utf8" });
      expect(read.status, read.stderr).toBe(0);
      const [header, ...rows] = JSON.parse(read.stdout) as string[][];
      expect(header![4]).toBe("actor_label");
      const defused = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);
      expect(rows.map((r) => [r[3], r[4], r[7], r[8], r[11]])).toEqual(nasty.map((text, i) => [defused(text), defused(recorded[i]!.label), defused(text), defused(text), `req ${text}`]));
      expect(rows.map((r) => JSON.parse(r[12]!) as unknown)).toEqual(recorded.map((r) => r.details));
      // Each row's own hash still checks out from what the CSV carries.
      for (const r of rows) expect(r[14]).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("filter values with quotes and backslashes select exactly their events (they are written into the COPY statement)", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    const label = "o'brien \\' OR TRUE; -- \\x";
    await record("literaltest.event", {}, { kind: "USER", id: null, label });
    await record("literaltest.event", {}, { kind: "USER", id: null, label: "o'brien" });
    const jsonl = await exportText({ from, actor: label });
    const lines = jsonl.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === "event").map((l) => l.actorLabel)).toEqual([label]);
    expect(lines.filter((l) => l.type === "link")).toHaveLength(1);
    const csv = await exportText({ from, action: "literaltest.", q: "\\'%_" }, "csv");
    expect(csv.split("\r\n").filter(Boolean)).toHaveLength(1); // the header: no details contain that text
  });

  it("an export read part way, or not at all, closes its database connection, and with it the COPY", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    for (let i = 0; i < 400; i++) await record("abandontest.event", { i, pad: "x".repeat(200) });
    const exporting = async () =>
      (await sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${AUDIT_EXPORT_APPLICATION}'`)).rows[0].n as number;
    const partly = await openAuditExport({ actor: auditor, request, filter: { from }, format: "jsonl" });
    const first = await partly.chunks.next();
    expect(String(first.value)).toMatch(/^\{"type":"header"/);
    await partly.chunks.next();
    expect(await exporting()).toBe(1);
    await partly.chunks.return(undefined);
    await expect.poll(exporting).toBe(0);
    const unread = await openAuditExport({ actor: auditor, request, filter: { from }, format: "csv" });
    expect(await exporting()).toBe(1);
    unread.close();
    await expect.poll(exporting).toBe(0);
    // Many at once (more than the pool holds): each export has its own connection, so none waits on another.
    const many = await Promise.all(Array.from({ length: 12 }, () => exportText({ from, action: "abandontest." }, "csv")));
    for (const text of many) expect(text.split("\r\n").filter(Boolean)).toHaveLength(401);
    await expect.poll(exporting).toBe(0);
  });
});

describe("retention", () => {
  it("purges through one audited path whose checkpoint keeps the rest of the chain verifiable", async () => {
    await record("retentiontest.old", { n: 1 });
    await record("retentiontest.old", { n: 2 });
    const cutoff = new Date(Date.now() + 5);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const kept = await record("retentiontest.kept", {});
    const before = await getDb().auditEvent.count({ where: { at: { lt: cutoff } } });

    const result = await purgeAuditEvents({ before: cutoff, actor: auditor, request });
    expect(result.purged).toBe(before);
    expect(await getDb().auditEvent.count({ where: { at: { lt: cutoff } } })).toBe(0);
    expect(await latestCheckpoint()).toMatchObject({ throughSeq: result.checkpoint!.throughSeq, purgedCount: String(before) });
    const purge = (await listAuditEvents({ filter: { action: "audit.purge" }, limit: 1 })).events[0]!;
    expect(purge).toMatchObject({ actorLabel: auditor.label, details: { purged: before, throughSeq: result.checkpoint!.throughSeq } });
    expect(BigInt(purge.seq)).toBeGreaterThan(kept.seq);

    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, checkpoint: { throughSeq: result.checkpoint!.throughSeq } });
    const exported = await exportText({});
    await expect(verifyText(exported)).resolves.toMatchObject({ ok: true });
    expect(JSON.parse(exported.split("\n")[0]!)).toMatchObject({ startAnchor: { prevHash: result.checkpoint!.continuesFromHash } });

    // Events newer than the checkpoint stay undeletable.
    await expect(sql(`DELETE FROM audit_events WHERE seq = ${kept.seq}`)).rejects.toThrow(/no retention checkpoint covers it/);
  });

  it("BERTH_AUDIT_RETENTION_DAYS: nothing when unset or nothing is old enough; otherwise a purge by the system", async () => {
    await record("retentiontest.sweep", {});
    const purges = async () => (await listAuditEvents({ filter: { action: "audit.purge" }, limit: 50 })).events.length;
    const before = await purges();
    expect(await applyAuditRetention({ days: null })).toBeNull();
    expect(await applyAuditRetention({ days: 1 })).toBeNull();
    expect(await purges()).toBe(before);

    // Two days from now, a one-day retention covers everything written so far.
    const result = await applyAuditRetention({ days: 1, now: new Date(Date.now() + 2 * 86_400_000) });
    expect(result?.purged).toBeGreaterThan(0);
    const [purge] = (await listAuditEvents({ filter: { action: "audit.purge" }, limit: 1 })).events;
    expect(purge).toMatchObject({ actorKind: "SYSTEM", actorLabel: "audit retention (BERTH_AUDIT_RETENTION_DAYS=1)" });
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true, checked: 1 });
  });

  it("a checkpoint forged to hide deleted events is caught", async () => {
    const victim = await record("retentiontest.victim", {});
    const next = await record("retentiontest.after_victim", {});
    // A DBA deletes everything up to the victim and adds a checkpoint to cover it, with the right hash.
    const forged = await asDbSuperuser(
      `INSERT INTO audit_checkpoints (at, through_seq, continues_from_hash, purged_count, purged_before) VALUES (now(), $1, $2, 1, now()) RETURNING id`,
      [victim.seq.toString(), victim.hash],
    );
    const deleted = await asDbSuperuser(`DELETE FROM audit_events WHERE seq <= $1 RETURNING *`, [victim.seq.toString()]);
    const result = await verifyAuditChain();
    expect(result).toMatchObject({ ok: false, seq: victim.seq.toString(), message: expect.stringMatching(/no matching audit.purge event/) });
    expect(next.seq).toBeGreaterThan(victim.seq);

    // Undo, so the files after this one start from a sound chain.
    await asDbSuperuser(`DELETE FROM audit_checkpoints WHERE id = $1`, [(forged.rows[0] as { id: string }).id]);
    for (const row of deleted.rows as Record<string, unknown>[]) {
      const columns = Object.keys(row);
      await asDbSuperuser(`INSERT INTO audit_events (${columns.join(",")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(",")})`, Object.values(row));
    }
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});
