import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asSuperuser, connectTestDatabase } from "@/test/use-database";
import { getPool } from "@/lib/db/client";
import { appendEvents } from "./append-batch";
import { appendArguments, SYSTEM_ACTOR } from "./record-event";
import { latestCheckpoint } from "./retention";
import { splitRange, stopRangeWorkers, verifyAuditChain, type ChainVerification } from "./verify-chain";

const url = connectTestDatabase();
const request = { requestId: "test", sourceAddress: "127.0.0.1" };

const asDbSuperuser = (text: string, params: unknown[] = []) => asSuperuser(url, text, params);

const append = (count: number, tag: string) =>
  appendEvents(
    getPool(),
    Array.from({ length: count }, (_, i) =>
      appendArguments({ actor: SYSTEM_ACTOR, request, action: "rangetest.event", details: { tag, i, text: `"quoted" \\ tab\tnewline\n ünïcödé ${i}` } }),
    ),
  );

const withoutTime = ({ durationMs: _, ...rest }: ChainVerification) => rest;
const inWorkers = () => verifyAuditChain({ workers: 2, ranges: 2 });

describe("the live walk in worker threads", () => {
  // The chain's seq span, cut in two as the walk with ranges: 2 cuts it; `ours` are this file's events, most of the span.
  let ranges: { after: string; through: string }[];
  let ours: bigint[];

  beforeAll(async () => {
    ours = (await append(1_500, "ranges")).map((e) => e.seq);
    const checkpoint = await latestCheckpoint();
    ranges = splitRange({ after: checkpoint?.throughSeq ?? "-1", through: ours.at(-1)!.toString() }, 2);
  });
  afterAll(() => stopRangeWorkers());

  /** One of our events in the middle of range `r` (0-based). */
  const middleOf = (r: number) => {
    const inside = ours.filter((seq) => seq > BigInt(ranges[r]!.after) && seq <= BigInt(ranges[r]!.through));
    expect(inside.length, `range ${r} holds events of this file`).toBeGreaterThan(100);
    return inside[Math.floor(inside.length / 2)]!;
  };
  const edit = (seq: bigint, amount: number) =>
    asDbSuperuser(`UPDATE audit_events SET details = jsonb_set(details, '{amount}', to_jsonb($2::int)) WHERE seq = $1`, [seq.toString(), amount]);
  const unedit = (seq: bigint) => asDbSuperuser(`UPDATE audit_events SET details = details - 'amount' WHERE seq = $1`, [seq.toString()]);

  it("gives the answer the one-thread walk gives, for an intact chain", async () => {
    const parallel = await inWorkers();
    expect(parallel).toMatchObject({ ok: true, headSeq: ours.at(-1)!.toString() });
    expect(withoutTime(parallel)).toEqual(withoutTime(await verifyAuditChain({ workers: 0 })));
  });

  it("names an edited event in the middle of the second worker's range when nothing earlier fails", async () => {
    const victim = middleOf(1);
    await edit(victim, 1000);
    try {
      const parallel = await inWorkers();
      expect(parallel).toMatchObject({ ok: false, seq: victim.toString(), problem: "hash_mismatch" });
      // The same count of events checked before it, and the same message, as one thread walking all of it.
      expect(withoutTime(parallel)).toEqual(withoutTime(await verifyAuditChain({ workers: 0 })));
    } finally {
      await unedit(victim);
    }
    await expect(inWorkers()).resolves.toMatchObject({ ok: true });
  });

  it("names the earliest failure when both workers find one, whichever finishes first", async () => {
    const early = middleOf(0);
    const late = ours.filter((seq) => seq > BigInt(ranges[1]!.after))[1]!; // near the start of range 2, found long before range 1's middle
    await edit(early, 1);
    await edit(late, 2);
    try {
      await expect(inWorkers()).resolves.toMatchObject({ ok: false, seq: early.toString(), problem: "hash_mismatch" });
      // More ranges than workers: each worker takes several, and the first failure by seq still wins.
      await expect(verifyAuditChain({ workers: 2, ranges: 7 })).resolves.toMatchObject({ ok: false, seq: early.toString() });
    } finally {
      await unedit(early);
      await unedit(late);
    }
    await expect(inWorkers()).resolves.toMatchObject({ ok: true });
  });

  it("names an event deleted at a range boundary at the event that followed it (the join between two workers' ranges)", async () => {
    const boundary = BigInt(ranges[0]!.through);
    const [deleted] = (await asDbSuperuser(`DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events WHERE seq <= $1) RETURNING *`, [boundary.toString()])).rows as Record<
      string,
      unknown
    >[];
    try {
      const after = ours.find((seq) => seq > BigInt(String(deleted!.seq)))!;
      const parallel = await inWorkers();
      expect(parallel).toMatchObject({ ok: false, seq: after.toString(), problem: "broken_link" });
      expect(withoutTime(parallel)).toEqual(withoutTime(await verifyAuditChain({ workers: 0 })));
    } finally {
      const columns = Object.keys(deleted!);
      await asDbSuperuser(`INSERT INTO audit_events (${columns.join(",")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(",")})`, Object.values(deleted!));
    }
    await expect(inWorkers()).resolves.toMatchObject({ ok: true });
  });

  it("stays intact while events are appended during the walk (it reads one snapshot)", async () => {
    const before = await inWorkers();
    const [walk] = await Promise.all([inWorkers(), append(300, "concurrent"), append(300, "concurrent")]);
    expect(walk.ok).toBe(true);
    expect(walk.checked).toBeGreaterThanOrEqual(before.checked);
    expect(walk.checked).toBeLessThanOrEqual(before.checked + 600);
    await expect(inWorkers()).resolves.toMatchObject({ ok: true, checked: before.checked + 600 });
  });
});
