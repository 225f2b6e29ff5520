import { describe, expect, it } from "vitest";
import { connectTestDatabase, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import type { Inventory } from "@/lib/protocol/agent";
import { authenticateAgent, enrolAgent, recordHeartbeat } from "./agent-channel";
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

  it("refuses the heartbeat of a removed server", async () => {
    const agent = await agentFor("it-hb-gone");
    await getDb().server.delete({ where: { id: agent.serverId } });
    await expect(recordHeartbeat({ agent, inventory: inventory("gone"), observedGeneration: null, request })).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
