import { describe, expect, it } from "vitest";
import { connectTestDatabase, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import type { Inventory } from "@/lib/protocol/agent";
import { authenticateAgent, enrolAgent, recordHeartbeat, rotateAgentCredential } from "./agent-channel";
import { addServer } from "./servers";

connectTestDatabase();
const request = { requestId: "it-heartbeat", sourceAddress: "127.0.0.1", userAgent: null };
const inventory = (hostname: string): Inventory => ({
  hostname,
  os: { platform: "linux", release: "6.1", kernel: "#1 \"quoted\" \\ back", arch: "x64" },
  cpu: { model: "cpu, with {braces}", cores: 2 },
  memory: { totalBytes: 1, freeBytes: 1 },
  disk: null,
  docker: { available: false, version: null, apiVersion: null, error: null },
  gpus: [],
  agentVersion: "it",
  containers: [],
});

async function agentFor(name: string) {
  const { enrolmentToken } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } });
  const { credential } = await enrolAgent({ token: enrolmentToken, inventory: inventory(name), request });
  const auth = await authenticateAgent(`Bearer ${credential}`);
  if (!auth.ok) throw new Error("no agent");
  return auth.agent;
}

describe("heartbeats", () => {
  it("writes concurrent heartbeats of online servers together, and takes an offline one back online with its audit event", async () => {
    const online = await Promise.all(["it-hb-a", "it-hb-b", "it-hb-c"].map(agentFor));
    const offline = await agentFor("it-hb-offline");
    await getDb().server.update({ where: { id: offline.serverId }, data: { connectivity: "OFFLINE" } });
    const onlineEvents = async () => (await auditLog()).count({ where: { action: "server.online", targetId: offline.serverId } });
    const before = await onlineEvents();
    const answers = await Promise.all(
      [...online, offline, online[0]!].map((agent, i) => recordHeartbeat({ agent, inventory: inventory(`host-${i}`), observedGeneration: i, request })),
    );
    expect(answers.map((a) => a.serverName)).toEqual(["it-hb-a", "it-hb-b", "it-hb-c", "it-hb-offline", "it-hb-a"]);
    expect(answers.every((a) => a.generation === 1 && a.adminState === "active" && a.rotateCredential === false)).toBe(true);
    const rows = await getDb().server.findMany({ where: { name: { startsWith: "it-hb-" } }, orderBy: { name: "asc" } });
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName["it-hb-b"]!.hostname).toBe("host-1");
    expect(byName["it-hb-b"]!.observedGeneration).toBe(1);
    expect((byName["it-hb-b"]!.inventory as Inventory).os.kernel).toBe('#1 "quoted" \\ back');
    expect(["host-0", "host-4"]).toContain(byName["it-hb-a"]!.hostname);
    expect(byName["it-hb-offline"]!.connectivity).toBe("ONLINE");
    expect(await onlineEvents()).toBe(before + 1);
  });

  it("keeps an unchanged inventory (the same object) without rewriting it, and writes it again after anyone else wrote the row", async () => {
    const agent = await agentFor("it-hb-kept");
    const mine = Object.freeze(inventory("kept-host"));
    const row = () => getDb().server.findUniqueOrThrow({ where: { id: agent.serverId } });
    await recordHeartbeat({ agent, inventory: mine, observedGeneration: 1, request });
    const first = await row();
    expect(first.hostname).toBe("kept-host");
    // The same object again: last_seen_at and the generation move, the row's inventory stays the written one.
    await new Promise((r) => setTimeout(r, 5));
    await recordHeartbeat({ agent, inventory: mine, observedGeneration: 2, request });
    const second = await row();
    expect(second.lastSeenAt!.getTime()).toBeGreaterThan(first.lastSeenAt!.getTime());
    expect(second.observedGeneration).toBe(2);
    expect(second.inventory).toEqual(mine);
    // Another replica (or anything else) writes the row: the next beat, though unchanged here, is written in full.
    await getDb().server.update({ where: { id: agent.serverId }, data: { hostname: "elsewhere", inventory: inventory("elsewhere"), lastSeenAt: new Date() } });
    await new Promise((r) => setTimeout(r, 5));
    await recordHeartbeat({ agent, inventory: mine, observedGeneration: 3, request });
    const third = await row();
    expect(third.hostname).toBe("kept-host");
    expect(third.inventory).toEqual(mine);
    expect(third.observedGeneration).toBe(3);
    // A new object with other contents is written, of course.
    await recordHeartbeat({ agent, inventory: { ...mine, hostname: "renamed" }, observedGeneration: 3, request });
    expect((await row()).hostname).toBe("renamed");
  });

  it("finds credentials asked for together (one batched lookup): each its own server, the previous one until the new one is used", async () => {
    const enrol = async (name: string) => {
      const { enrolmentToken } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } });
      return (await enrolAgent({ token: enrolmentToken, inventory: inventory(name), request })).credential;
    };
    const [old, other] = await Promise.all([enrol("it-hb-rotate"), enrol("it-hb-rotate-other")]);
    const first = await authenticateAgent(`Bearer ${old}`);
    if (!first.ok) throw new Error("not admitted");
    const { credential: fresh } = await rotateAgentCredential({ agent: first.agent, request });
    const [byOld, byOther, byUnknown] = await Promise.all([old, other, "berth_agent_unknown"].map((c) => authenticateAgent(`Bearer ${c}`)));
    expect(byOld).toMatchObject({ ok: true, agent: { serverId: first.agent.serverId, usedPreviousCredential: true } });
    expect(byOther).toMatchObject({ ok: true, agent: { serverName: "it-hb-rotate-other", usedPreviousCredential: false } });
    expect(byUnknown).toEqual({ ok: false, reason: "unknown_credential" });
    // The new credential, once used, ends the old one.
    expect(await authenticateAgent(`Bearer ${fresh}`)).toMatchObject({ ok: true, agent: { serverId: first.agent.serverId, usedPreviousCredential: false } });
    expect(await authenticateAgent(`Bearer ${old}`)).toEqual({ ok: false, reason: "unknown_credential" });
  });

  it("refuses the heartbeat of a removed server", async () => {
    const agent = await agentFor("it-hb-gone");
    await getDb().server.delete({ where: { id: agent.serverId } });
    await expect(recordHeartbeat({ agent, inventory: inventory("gone"), observedGeneration: null, request })).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
