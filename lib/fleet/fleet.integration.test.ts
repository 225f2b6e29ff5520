import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestDatabase, auditLog } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { systemActor } from "@/lib/auth/actor";
import { verifyAuditChain } from "@/lib/audit/verify-chain";
import type { Inventory } from "@/lib/protocol/agent";
import { authenticateAgent, bumpGeneration, desiredStateFor, enrolAgent, sweepOfflineServers } from "./agent-channel";
import { addServer } from "./servers";
import { startFleetListener, stopFleetListener } from "./fleet-listener";

connectTestDatabase();
// Long-polls are woken through PostgreSQL NOTIFY, as in the running server.
beforeAll(() => startFleetListener());
afterAll(() => stopFleetListener());
const request = { requestId: "it", sourceAddress: "127.0.0.1", userAgent: null };
const inventory: Inventory = {
  hostname: "it-host",
  os: { platform: "linux", release: "6.1", kernel: "#1", arch: "x64" },
  cpu: { model: "cpu", cores: 2 },
  memory: { totalBytes: 1, freeBytes: 1 },
  disk: null,
  docker: { available: false, version: null, apiVersion: null, error: null },
  gpus: [],
  agentVersion: "it",
  containers: [],
};

async function enrolled(name: string) {
  const { enrolmentToken } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } });
  const { credential } = await enrolAgent({ token: enrolmentToken, inventory, request });
  const auth = await authenticateAgent(`Bearer ${credential}`);
  if (!auth.ok) throw new Error("enrolled agent does not authenticate");
  return auth.agent;
}

describe("the agent channel", () => {
  it("wakes a waiting long-poll within a second of a desired-state change", async () => {
    const agent = await enrolled("it-longpoll");
    const started = Date.now();
    const waiting = desiredStateFor({ agent, after: 1, waitSeconds: 20 });
    setTimeout(() => void getDb().$transaction((tx) => bumpGeneration(tx, agent.serverId)), 200);
    const answer = await waiting;
    expect(answer.generation).toBe(2);
    expect(Date.now() - started).toBeLessThan(1200);
  });

  it("marks a silent server offline once, with one audit event", async () => {
    const agent = await enrolled("it-offline");
    await getDb().server.update({ where: { id: agent.serverId }, data: { lastSeenAt: new Date(Date.now() - 3_600_000) } });
    expect(await sweepOfflineServers()).toBeGreaterThanOrEqual(1);
    await sweepOfflineServers();
    const server = await getDb().server.findUniqueOrThrow({ where: { id: agent.serverId } });
    expect(server.connectivity).toBe("OFFLINE");
    expect(await (await auditLog()).count({ where: { action: "server.offline", targetId: agent.serverId } })).toBe(1);
  });

  it("refuses an expired enrolment token and records the refusal", async () => {
    const { enrolmentToken, server } = await addServer({ actor: systemActor(), request, input: { name: "it-expired", labels: {}, enrolmentTtlMinutes: 60 } });
    await getDb().server.update({ where: { id: server.id }, data: { enrolmentExpiresAt: new Date(Date.now() - 1000) } });
    await expect(enrolAgent({ token: enrolmentToken, inventory, request })).rejects.toMatchObject({ code: "unauthenticated" });
    const refusal = await (await auditLog()).findFirst({ where: { action: "server.enrol", outcome: "DENIED", targetId: server.id } });
    expect(refusal?.details).toEqual({ reason: "expired enrolment token" });
    await expect(verifyAuditChain()).resolves.toMatchObject({ ok: true });
  });
});
