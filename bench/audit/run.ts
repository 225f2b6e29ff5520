/**
 * bench/audit: the audit log at a million events.
 *
 * Starts a real Berth control plane (server/main.ts, embedded PostgreSQL, a
 * throw-away data folder) and an AUDITOR token, then:
 *   1. generates N events (default 1,000,000) through the production append
 *      path (bench/audit/events.ts): each event's arguments from appendArguments,
 *      as recordAuditEvent sends them (canonical parts cut by canonicalParts),
 *      appended by appendEvents, as recordStandaloneAuditEvent's batches are
 *      (berth_audit_append once per event: the chain lock, the head, seq, clock
 *      and SHA-256 in the database), 10,000 events per statement;
 *   2. live chain verification through GET /api/v1/audit/verification (first:
 *      the bench stops if the generated chain does not verify);
 *   3. exports the whole chain as CSV and as JSON Lines through
 *      GET /api/v1/audit/export, counting bytes and rows, against the limit in
 *      the same run: `COPY (SELECT <the export's columns> …) TO STDOUT` through
 *      psql on the same database; the server's resident memory (VmRSS every
 *      20 ms) for a 10 % range and for the whole chain; and the CPU the server
 *      and PostgreSQL spent on each;
 *   4. what an audited mutation pays for its event (a Prisma transaction that
 *      updates a model, with and without recordAuditEvent: p50 and p99), and how
 *      many audited writes per second the system sustains with 8, 16 and 32
 *      concurrent writers (recordStandaloneAuditEvent; model update +
 *      recordAuditEvent through Prisma and through pg; the model update alone
 *      through each), with the sequencer's backlog when the writers stop and
 *      how long it takes to chain it; the limits on this disk: durable commits
 *      one at a time (what a chain whose lock is held through COMMIT could
 *      reach at best, the design before lib/audit/sequencer.ts) and from as
 *      many writers at once (group commit, no chain); and the serialised chain
 *      alone: how many pending events a second the sequencer appends.
 * Every measurement runs --rounds times (default 3); medians are printed.
 *
 *   npm run build && node --import tsx bench/audit/run.ts [--events 1000000] [--rounds 3]
 *     [--seconds 10] [--concurrency 8,16,32] [--mutations 1000] [--small]
 *
 * --small: 50,000 events, 1 round, 3 s per run (a quick check of the bench itself).
 * --only verify: generation and live verification only (steps 1 and 2).
 * --only export: generation and the exports only (steps 1 and 3).
 * --only writes: generation and the audited writes only (steps 1 and 4).
 * --data DIR: the data folder to use and keep; a chain of --events already in it
 *   is reused, not generated again (4 minutes a million on this VM).
 * Needs psql for the limit: `apt-get install -y postgresql-client`.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import pg from "pg";
import { freePort, rssKiB } from "../common";
import { AUDIT_COLUMNS } from "../../lib/audit/filters";
import { appendArguments, type AuditEventInput } from "../../lib/audit/record-event";
import { generateEvents } from "./events";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const small = args.includes("--small");
const eventCount = Number(option("events", small ? "50000" : "1000000"));
const rounds = Number(option("rounds", small ? "1" : "3"));
const seconds = Number(option("seconds", small ? "3" : "10"));
const concurrencies = option("concurrency", "8,16,32").split(",").map(Number);
const mutations = Number(option("mutations", small ? "300" : "1000"));
const only = option("only", "all");
if (!["all", "verify", "export", "writes"].includes(only)) throw new Error("--only takes verify, export or writes");
const keptData = option("data", "");
const root = path.resolve(import.meta.dirname, "../..");

// ---- measuring ---------------------------------------------------------------

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const say = (line: string) => process.stdout.write(`${line}\n`);

/** CPU seconds a process has used: its own, plus (with children) that of the children it has waited for. */
function cpuSeconds(pid: number, withChildren = false): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
  return ticks / 100;
}

/** PostgreSQL's CPU: the postmaster, the backends it has reaped (psql's, when it is gone) and those alive. */
function postgresCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(stat[1]) === postmaster) total += (Number(stat[11]) + Number(stat[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Counts bytes and lines of a stream without keeping it. */
function counter() {
  const state = { bytes: 0, lines: 0 };
  return {
    state,
    add(chunk: Buffer) {
      state.bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) state.lines += 1;
    },
  };
}

type Reading = { bytes: number; lines: number; seconds: number; peakKiB: number; serverCpu: number; postgresCpu: number };

/** Runs `work` while sampling the server's VmRSS every 20 ms and the CPU of the server and of PostgreSQL. */
async function measured(pids: { server: number; postmaster: number }, work: () => Promise<{ bytes: number; lines: number }>): Promise<Reading> {
  let peakKiB = rssKiB(pids.server);
  const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, rssKiB(pids.server))), 20);
  const serverBefore = cpuSeconds(pids.server);
  const postgresBefore = postgresCpuSeconds(pids.postmaster);
  const started = performance.now();
  try {
    const counted = await work();
    const elapsed = (performance.now() - started) / 1000;
    peakKiB = Math.max(peakKiB, rssKiB(pids.server));
    return { ...counted, seconds: elapsed, peakKiB, serverCpu: cpuSeconds(pids.server) - serverBefore, postgresCpu: postgresCpuSeconds(pids.postmaster) - postgresBefore };
  } finally {
    clearInterval(sampler);
  }
}

function httpGet(port: number, urlPath: string, token: string, keepBody = false): Promise<{ status: number; bytes: number; lines: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      const count = counter();
      const kept: Buffer[] = [];
      res.on("data", (chunk: Buffer) => {
        count.add(chunk);
        if (keepBody || res.statusCode !== 200) kept.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ...count.state, body: Buffer.concat(kept).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** The limit: the same rows, straight from PostgreSQL (COPY, text format) through psql. */
function psqlCopy(url: string, sql: string): Promise<{ bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", `COPY (${sql}) TO STDOUT`], { stdio: ["ignore", "pipe", "inherit"] });
    const count = counter();
    child.stdout.on("data", (chunk: Buffer) => count.add(chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(count.state) : reject(new Error(`psql exited ${code}`))));
  });
}

// ---- the bench ----------------------------------------------------------------

async function main() {
  if (spawnSync("psql", ["--version"]).status !== 0) {
    process.stderr.write("bench/audit needs psql for its limit (COPY … TO STDOUT). Install it with: apt-get install -y postgresql-client\n");
    process.exit(2);
  }
  const work = keptData ? path.resolve(keptData) : mkdtempSync(path.join("/var/tmp", "berth-bench-audit-"));
  mkdirSync(work, { recursive: true });
  chmodSync(work, 0o711);
  const port = await freePort();
  const dataDir = path.join(work, "data");
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_DATA_DIR: dataDir, BERTH_PORT: String(port), BERTH_HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.BERTH_AUDIT_RETENTION_DAYS;
  const server = spawn(process.execPath, [...(process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), "--import", "tsx", "server/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let client: pg.Client | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      server.stdout!.on("data", (c: Buffer) => ((seen += c), seen.includes("Berth is running") ? resolve() : undefined));
      server.on("exit", (code) => reject(new Error(`server/main.ts exited ${code}`)));
    });
    say(`bench/audit ${new Date().toISOString()}: ${fmt(eventCount)} events, ${rounds} round(s) per measurement (median); load average ${loadavg()} (2 cores)`);
    const token = execFileSync(process.execPath, ["bin/berth.mjs", "admin", "create-token", "--name", "bench-auditor", "--role", "AUDITOR"], { cwd: root, env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const password = readFileSync(path.join(dataDir, "secrets", "postgres-password"), "utf8").trim();
    const postmasterFile = readFileSync(path.join(dataDir, "postgres", "postmaster.pid"), "utf8").split("\n");
    const pids = { server: server.pid!, postmaster: Number(postmasterFile[0]) };
    const url = `postgresql://berth:${password}@127.0.0.1:${postmasterFile[3]!.trim()}/berth`;
    process.env.DATABASE_URL = url;
    client = new pg.Client({ connectionString: url });
    await client.connect();
    const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
        WHERE name IN ('fsync','synchronous_commit','wal_sync_method','full_page_writes','commit_delay','shared_buffers','max_wal_size') ORDER BY name`,
    );
    const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    say(`PostgreSQL ${version} (embedded): ${settings.rows.map((r) => `${r.name}=${r.setting}${r.unit ? ` ${r.unit}` : ""}`).join(", ")}`);

    // 1. Generation (unless --data holds a chain of this size already).
    const existing = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM audit_events")).rows[0]!.n);
    const reused = keptData !== "" && existing >= eventCount;
    const generationSeconds = reused ? 0 : await generateEvents(client, eventCount, (done, elapsed) => process.stderr.write(`  generated ${fmt(done)} events, ${elapsed.toFixed(0)} s\n`));
    const total = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM audit_events")).rows[0]!.n);
    // As autovacuum would have by then: visibility map and hint bits set, so neither reader below pays for them.
    const vacuumStarted = performance.now();
    await client.query("VACUUM (ANALYZE) audit_events");
    const size = (await client.query<{ t: string; i: string }>(`SELECT pg_size_pretty(pg_table_size('audit_events')) AS t, pg_size_pretty(pg_indexes_size('audit_events')) AS i`)).rows[0]!;
    if (reused) say(`1. generation: skipped, ${fmt(total)} events already in ${dataDir}`);
    else say(
      `1. generation: ${fmt(eventCount)} events through berth_audit_append in ${generationSeconds.toFixed(1)} s (${fmt(eventCount / generationSeconds)} events/s, 10,000 per statement); ` +
        `chain ${fmt(total)} events, table ${size.t}, indexes ${size.i}; VACUUM ANALYZE ${((performance.now() - vacuumStarted) / 1000).toFixed(1)} s`,
    );

    // 2. Live verification, through the API (not with --only export).
    const verifications: (Reading & { durationMs: number; checked: number })[] = [];
    for (let r = 0; r < (only === "export" || only === "writes" ? 0 : rounds); r++) {
      let body = "";
      const reading = await measured(pids, async () => {
        const answer = await httpGet(port, "/api/v1/audit/verification", token, true);
        body = answer.body;
        if (answer.status !== 200) throw new Error(`verification answered ${answer.status}: ${answer.body}`);
        return answer;
      });
      const parsed = JSON.parse(body) as { ok: boolean; checked: number; durationMs: number };
      if (!parsed.ok) throw new Error(`the generated chain does not verify: ${body}`);
      verifications.push({ ...reading, durationMs: parsed.durationMs, checked: parsed.checked });
    }
    const v = (pick: (x: (typeof verifications)[number]) => number) => median(verifications.map(pick));
    if (verifications.length) say(
      `2. live verification, GET /api/v1/audit/verification: ${fmt(verifications[0]!.checked)} events, ok, ${v((x) => x.seconds).toFixed(1)} s at the client ` +
        `(${(v((x) => x.durationMs) / 1000).toFixed(1)} s in verifyAuditChain); CPU: server ${v((x) => x.serverCpu).toFixed(1)} s, PostgreSQL ${v((x) => x.postgresCpu).toFixed(1)} s; ` +
        `each round: ${verifications.map((x) => `${x.seconds.toFixed(1)} s`).join(", ")}`,
    );

    if (only === "verify") {
      say(`load average at the end: ${loadavg()} (2 cores; other work on the machine skews every figure)`);
      return;
    }

    // 3. Exports (not with --only writes).
    if (only !== "writes") {
    // 3. Exports against COPY, alternating; first a 10 % range of each format, for memory against the range.
    const tenth = (await client.query<{ at: string }>(`SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM audit_events ORDER BY seq OFFSET $1 LIMIT 1`, [Math.floor(total / 10)])).rows[0]!.at;
    const rssBefore = rssKiB(pids.server);
    const exportOf = (format: "csv" | "jsonl", query = "") => async () => {
      const answer = await httpGet(port, `/api/v1/audit/export?format=${format}${query}`, token);
      if (answer.status !== 200) throw new Error(`export answered ${answer.status}: ${answer.body}`);
      return { bytes: answer.bytes, lines: answer.lines - (format === "csv" ? 1 : 2) }; // CSV: a header line; JSON Lines: header and end records
    };
    const partial = { csv: await measured(pids, exportOf("csv", `&to=${encodeURIComponent(tenth)}`)), jsonl: await measured(pids, exportOf("jsonl", `&to=${encodeURIComponent(tenth)}`)) };
    const runs: Record<"copy" | "csv" | "jsonl", Reading[]> = { copy: [], csv: [], jsonl: [] };
    const copySql = `SELECT ${AUDIT_COLUMNS} FROM audit_events ORDER BY audit_events.seq`;
    const roundLoads: string[] = [];
    for (let r = 0; r < rounds; r++) {
      roundLoads.push(loadavg());
      runs.copy.push(await measured(pids, () => psqlCopy(url, copySql)));
      runs.csv.push(await measured(pids, exportOf("csv")));
      runs.jsonl.push(await measured(pids, exportOf("jsonl")));
    }
    const summary = (list: Reading[]) => ({
      rows: list[0]!.lines,
      bytes: list[0]!.bytes,
      seconds: median(list.map((x) => x.seconds)),
      rowsPerSecond: median(list.map((x) => x.lines / x.seconds)),
      mbPerSecond: median(list.map((x) => x.bytes / x.seconds / 1e6)),
      serverCpu: median(list.map((x) => x.serverCpu)),
      postgresCpu: median(list.map((x) => x.postgresCpu)),
      peakKiB: Math.max(...list.map((x) => x.peakKiB)),
    });
    const copy = summary(runs.copy);
    say(`3. export of the whole chain (median of ${rounds}):`);
    say(
      `   limit, psql COPY (same columns) TO STDOUT: ${fmt(copy.rows)} rows, ${(copy.bytes / 1e6).toFixed(0)} MB in ${copy.seconds.toFixed(1)} s: ` +
        `${fmt(copy.rowsPerSecond)} rows/s, ${copy.mbPerSecond.toFixed(0)} MB/s; CPU: PostgreSQL ${copy.postgresCpu.toFixed(1)} s`,
    );
    for (const format of ["csv", "jsonl"] as const) {
      const x = summary(runs[format]);
      say(
        `   ${format === "csv" ? "CSV        " : "JSON Lines "} GET /api/v1/audit/export: ${fmt(x.rows)} rows, ${(x.bytes / 1e6).toFixed(0)} MB in ${x.seconds.toFixed(1)} s: ` +
          `${fmt(x.rowsPerSecond)} rows/s, ${x.mbPerSecond.toFixed(0)} MB/s, ratio to COPY ${(x.rowsPerSecond / copy.rowsPerSecond).toFixed(2)}; ` +
          `CPU: server ${x.serverCpu.toFixed(1)} s, PostgreSQL ${x.postgresCpu.toFixed(1)} s; ` +
          `server RSS ${mib(rssBefore)} before, peak ${mib(x.peakKiB)} (a 10 % range, ${fmt(partial[format].lines)} rows: peak ${mib(partial[format].peakKiB)})`,
      );
    }
    // Each round on its own (with an even --rounds the "median" above is the larger of the middle two): ratios to the same round's COPY.
    const rate = (x: Reading) => x.lines / x.seconds;
    say(
      `   by round, seconds for COPY / CSV (ratio) / JSON Lines (ratio) [load average at the round's start]: ` +
        runs.copy
          .map((c, r) => `${c.seconds.toFixed(1)} / ${runs.csv[r]!.seconds.toFixed(1)} (${(rate(runs.csv[r]!) / rate(c)).toFixed(2)}) / ${runs.jsonl[r]!.seconds.toFixed(1)} (${(rate(runs.jsonl[r]!) / rate(c)).toFixed(2)}) [${roundLoads[r]}]`)
          .join("; "),
    );

    if (only === "export") {
      say(`load average at the end: ${loadavg()} (2 cores; other work on the machine skews every figure)`);
      return;
    }

    }

    // 4. Mutations, in this process (Prisma and the pg pool as the server has them).
    const { getDb, getPool, disconnectDb } = await import("../../lib/db/client");
    const { recordAuditEvent, recordStandaloneAuditEvent } = await import("../../lib/audit/record-event");
    const { chainPendingEvents } = await import("../../lib/audit/sequencer");
    const db = getDb();
    const models = await Promise.all(
      Array.from({ length: Math.max(...concurrencies) }, (_, i) =>
        db.model.create({ data: { name: `bench-${i}`, displayName: `Bench ${i}`, createdBy: "bench/audit" }, select: { id: true, name: true } }),
      ),
    );
    type Model = (typeof models)[number];
    const actor = { kind: "USER" as const, id: "0b6f0000-5c1e-4a57-9d0e-7f3a2c1b9e00", label: "engineer0@example.com" };
    let n = 0;
    const eventFor = (model: Model): AuditEventInput => ({
      actor,
      request: { requestId: `bench-${n}`, sourceAddress: "127.0.0.1" },
      action: "model.update",
      target: { kind: "model", id: model.id, label: model.name },
      details: { changes: { description: { from: `rev ${n - 1}`, to: `rev ${n}` } } },
    });
    const plainMutation = (model: Model) =>
      db.$transaction(async (tx) => void (await tx.model.update({ where: { id: model.id }, data: { description: `rev ${++n}` }, select: { id: true } })));
    const auditedMutation = (model: Model) =>
      db.$transaction(async (tx) => {
        await tx.model.update({ where: { id: model.id }, data: { description: `rev ${++n}` }, select: { id: true } });
        await recordAuditEvent(tx, eventFor(model));
      });
    // The same without Prisma (BEGIN, UPDATE, the event, COMMIT on one pg connection, lib/db/sql.ts): what its interactive transaction costs.
    const { sqlTransaction } = await import("../../lib/db/sql");
    const rawMutation = (model: Model, audited: boolean) =>
      sqlTransaction(async (sql) => {
        await sql.query(`UPDATE models SET description = $1, updated_at = now() WHERE id = $2`, [`rev ${++n}`, model.id]);
        if (audited) await recordAuditEvent(sql, eventFor(model));
      });
    const standalone = () =>
      recordStandaloneAuditEvent({ actor, request: { requestId: `bench-${++n}`, sourceAddress: "127.0.0.1" }, action: "inference.request", target: { kind: "deployment", label: "iris" }, outcome: "DENIED", details: { reason: "forbidden" } });
    await getPool().query("CREATE TABLE bench_commits (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
    const bareCommit = () => getPool().query("INSERT INTO bench_commits DEFAULT VALUES");
    const timed = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };

    for (let i = 0; i < 100; i++) {
      await plainMutation(models[0]!); // warm-up
      await auditedMutation(models[0]!);
    }
    const plainLatency: number[] = [];
    const auditedLatency: number[] = [];
    for (let done = 0; done < mutations; done += 100) {
      for (let i = 0; i < 100; i++) plainLatency.push(await timed(() => plainMutation(models[0]!)));
      for (let i = 0; i < 100; i++) auditedLatency.push(await timed(() => auditedMutation(models[0]!)));
    }
    plainLatency.sort((a, b) => a - b);
    auditedLatency.sort((a, b) => a - b);
    const at = (q: number) => {
      const [p, a] = [quantile(plainLatency, q), quantile(auditedLatency, q)];
      return `p${q * 100} ${p.toFixed(2)} → ${a.toFixed(2)} ms (${a >= p ? "+" : "−"}${Math.abs(a - p).toFixed(2)})`;
    };
    say(`4. one writer, a Prisma transaction updating a model, without → with recordAuditEvent (${fmt(mutations)} each, alternating blocks of 100): ${at(0.5)}, ${at(0.99)}`);

    const sustained = async (c: number, fn: (worker: number) => Promise<unknown>) => {
      const deadline = performance.now() + seconds * 1000;
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: c }, async (_, worker) => {
          while (performance.now() < deadline) latencies.push(await timed(() => fn(worker)));
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      // What the sequencer had not chained yet when the writers stopped, and how long until it had.
      const backlog = Number((await getPool().query<{ n: string }>("SELECT count(*) AS n FROM audit_pending")).rows[0]!.n);
      const drainStarted = performance.now();
      await chainPendingEvents();
      latencies.sort((a, b) => a - b);
      return { rate: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), backlog, drainMs: performance.now() - drainStarted };
    };
    const serial: number[] = [];
    for (let r = 0; r < rounds; r++) serial.push((await sustained(1, bareCommit)).rate);
    say(`   limit for a chain whose lock is held through COMMIT: durable commits one at a time (INSERT, autocommit, pg) ${fmt(median(serial))}/s (${(1000 / median(serial)).toFixed(2)} ms each)`);
    say(`   sustained for ${seconds} s (median of ${rounds}; per call p50/p99), pool BERTH_DB_POOL_SIZE=${process.env.BERTH_DB_POOL_SIZE || 10}:`);
    const kinds = [
      ["recordStandaloneAuditEvent", () => standalone()],
      ["model update + recordAuditEvent (Prisma)", (w: number) => auditedMutation(models[w]!)],
      ["the same through pg", (w: number) => rawMutation(models[w]!, true)],
      ["model update alone (pg)", (w: number) => rawMutation(models[w]!, false)],
      ["model update alone (Prisma)", (w: number) => plainMutation(models[w]!)],
      ["limit: INSERT commits, no chain (group commit)", () => bareCommit()],
    ] as const;
    for (const c of concurrencies) {
      const cells = kinds.map(() => [] as { rate: number; p50: number; p99: number; backlog: number; drainMs: number }[]);
      for (let r = 0; r < rounds; r++) for (const [k, [, fn]] of kinds.entries()) cells[k]!.push(await sustained(c, fn));
      const cell = (list: { rate: number; p50: number; p99: number; backlog: number; drainMs: number }[]) => {
        const m = [...list].sort((a, b) => a.rate - b.rate)[Math.floor(list.length / 2)]!;
        return `${fmt(m.rate)}/s (${m.p50.toFixed(1)}/${m.p99.toFixed(1)} ms${m.backlog ? `, ${m.backlog} pending at the end, chained ${m.drainMs.toFixed(0)} ms later` : ""})`;
      };
      say(`   ${String(c).padStart(2)} writers: ${kinds.map(([name], k) => `${name} ${cell(cells[k]!)}`).join("; ")}`);
    }
    // The sequencer alone: events already committed to audit_pending (copies of one model.update
    // event, inserted in one statement so that nothing chains them meanwhile), then chained.
    const capacity: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const count = small ? 20_000 : 100_000;
      const args = appendArguments(eventFor(models[0]!));
      await getPool().query(
        `INSERT INTO audit_pending (at, actor_kind, actor_id, actor_label, action, target_kind, target_id, target_label, outcome,
                                    source_address, request_id, details, canon_1, canon_2, canon_3)
         SELECT date_trunc('milliseconds', clock_timestamp()), $1::"ActorKind", $2, $3, $4, $5, $6, $7, $8::"AuditOutcome", $9, $10, $11::jsonb, $12, $13, $14
           FROM generate_series(1, ${count})`,
        args,
      );
      const started = performance.now();
      await chainPendingEvents();
      const left = Number((await getPool().query<{ n: string }>("SELECT count(*) AS n FROM audit_pending")).rows[0]!.n);
      if (left !== 0) throw new Error(`${left} events still pending after the sequencer's pass`);
      capacity.push(count / ((performance.now() - started) / 1000));
    }
    say(`   the sequencer alone (the serialised chain): ${fmt(median(capacity))} events/s chained (${small ? "20,000" : "100,000"} pending events, batches of 5,000, median of ${rounds})`);
    await getPool().query("DROP TABLE bench_commits");
    await disconnectDb();
    const final = await httpGet(port, "/api/v1/audit/verification", token, true);
    const finalBody = JSON.parse(final.body) as { ok: boolean; checked: number };
    if (!finalBody.ok) throw new Error(`the chain does not verify after the mutations: ${final.body}`);
    say(`   the chain after them: ${fmt(finalBody.checked)} events, verifies`);
    say(`load average at the end: ${loadavg()} (2 cores; other work on the machine skews every figure)`);
  } finally {
    await client?.end().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode === null ? server.once("exit", r) : r(null)));
    if (!keptData) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
