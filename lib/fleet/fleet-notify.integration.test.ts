import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { connectTestDatabase } from "@/test/use-database";
import { getDb } from "@/lib/db/client";
import { NotificationListener } from "@/lib/db/listen";
import { systemActor } from "@/lib/auth/actor";
import type { Inventory } from "@/lib/protocol/agent";
import { authenticateAgent, bumpGeneration, enrolAgent } from "./agent-channel";
import { createGenerationWatch, type GenerationWatch } from "./generation-watch";
import { dispatchGeneration, GENERATION_CHANNEL, startFleetListener, stopFleetListener } from "./fleet-listener";
import { CREDENTIALS_CHANNEL, credentialCacheSize } from "./credential-cache";
import { addServer, removeServer } from "./servers";

const url = connectTestDatabase();
const request = { requestId: "it-notify", sourceAddress: "127.0.0.1", userAgent: null };
const inventory: Inventory = {
  hostname: "it-notify-host",
  os: { platform: "linux", release: "6.1", kernel: "#1", arch: "x64" },
  cpu: { model: "cpu", cores: 2 },
  memory: { totalBytes: 1, freeBytes: 1 },
  disk: null,
  docker: { available: false, version: null, apiVersion: null, error: null },
  gpus: [],
  agentVersion: "it",
  containers: [],
};

/** One control-plane "replica": its own LISTEN connection waking its own long-poll waiters. */
type Replica = { watch: GenerationWatch; listener: NotificationListener; connected: boolean[] };

function replica(name: string): Replica {
  const watch = createGenerationWatch();
  const connected: boolean[] = [];
  const listener = new NotificationListener({
    connectionString: url,
    applicationName: name,
    channels: [GENERATION_CHANNEL],
    onNotification: (_channel, payload) => dispatchGeneration(payload, watch.notify),
    onConnectionChange: (up) => connected.push(up),
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  return { watch, listener, connected };
}

async function newServer(name: string) {
  const { server } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } });
  return server.id;
}

async function until(check: () => boolean | Promise<boolean>, ms = 3000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const a = replica("it-replica-a");
const b = replica("it-replica-b");

beforeAll(async () => {
  await a.listener.start();
  await b.listener.start();
  expect(a.listener.connected && b.listener.connected).toBe(true);
});

afterAll(async () => {
  await a.listener.stop();
  await b.listener.stop();
});

describe("desired-state wake-ups across replicas (LISTEN/NOTIFY)", () => {
  it("wakes long-polls in both replicas when a bump commits, and not before", async () => {
    const serverId = await newServer("it-notify-commit");
    const wokenAt: number[] = [];
    const inA = a.watch.wait(serverId, 10_000).then((g) => (wokenAt.push(Date.now()), g));
    const inB = b.watch.wait(serverId, 10_000).then((g) => (wokenAt.push(Date.now()), g));
    let committedAt = 0;
    await getDb().$transaction(async (tx) => {
      await bumpGeneration(tx, serverId);
      await new Promise((r) => setTimeout(r, 300)); // bumped, not yet committed
      committedAt = Date.now();
    });
    expect(await inA).toBe(2);
    expect(await inB).toBe(2);
    for (const at of wokenAt) expect(at).toBeGreaterThanOrEqual(committedAt);
    expect(Math.max(...wokenAt) - committedAt).toBeLessThan(1000);
  });

  it("wakes a waiter for a bump committed by another connection (a second replica's SQL)", async () => {
    const serverId = await newServer("it-notify-other");
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const waiting = a.watch.wait(serverId, 10_000);
      // What bumpGeneration does, from a connection that is neither Prisma's pool nor a listener.
      await other.query("BEGIN");
      const { rows } = await other.query<{ generation: number }>("UPDATE servers SET generation = generation + 1 WHERE id = $1 RETURNING generation", [serverId]);
      await other.query("SELECT pg_notify($1, $2)", [GENERATION_CHANNEL, `${serverId}:${rows[0]!.generation}`]);
      await other.query("COMMIT");
      expect(await waiting).toBe(2);
    } finally {
      await other.end();
    }
  });

  it("wakes nobody when the bump rolls back", async () => {
    const serverId = await newServer("it-notify-rollback");
    const inA = a.watch.wait(serverId, 1500);
    const inB = b.watch.wait(serverId, 1500);
    await expect(
      getDb().$transaction(async (tx) => {
        await bumpGeneration(tx, serverId);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await inA).toBeNull();
    expect(await inB).toBeNull();
    expect((await getDb().server.findUniqueOrThrow({ where: { id: serverId } })).generation).toBe(1);
  });

  it("reconnects after its connection is killed and wakes waiters again", async () => {
    const serverId = await newServer("it-notify-reconnect");
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'it-replica-a'");
      await until(() => a.connected.includes(false));
      await until(() => a.listener.connected);
      const waiting = a.watch.wait(serverId, 10_000);
      await getDb().$transaction((tx) => bumpGeneration(tx, serverId));
      expect(await waiting).toBe(2);
      expect(a.connected).toEqual([true, false, true]);
    } finally {
      await admin.end();
    }
  });
});

describe("the agent credential cache", () => {
  beforeAll(async () => {
    await startFleetListener({ connectionString: url });
  });
  afterAll(async () => {
    await stopFleetListener();
  });

  async function enrolled(name: string) {
    const { enrolmentToken } = await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } });
    const { credential, serverId } = await enrolAgent({ token: enrolmentToken, inventory, request });
    return { credential, serverId, authorization: `Bearer ${credential}` };
  }

  it("refuses a removed server's credential at once", async () => {
    const { authorization } = await enrolled("it-cache-remove");
    expect((await authenticateAgent(authorization)).ok).toBe(true);
    expect((await authenticateAgent(authorization)).ok).toBe(true); // now from the cache
    await removeServer({ actor: systemActor(), request, name: "it-cache-remove" });
    expect(await authenticateAgent(authorization)).toEqual({ ok: false, reason: "unknown_credential" });
  });

  it("forgets a credential another replica ended, once that replica commits", async () => {
    const { authorization, serverId } = await enrolled("it-cache-elsewhere");
    expect((await authenticateAgent(authorization)).ok).toBe(true);
    const sizeBefore = credentialCacheSize();
    expect(sizeBefore).toBeGreaterThan(0);
    // Another replica removes the server: its transaction notifies on commit.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("DELETE FROM servers WHERE id = $1", [serverId]);
      await other.query("SELECT pg_notify($1, $2)", [CREDENTIALS_CHANNEL, serverId]);
      await other.query("COMMIT");
    } finally {
      await other.end();
    }
    await until(() => credentialCacheSize() < sizeBefore, 1000);
    expect(await authenticateAgent(authorization)).toEqual({ ok: false, reason: "unknown_credential" });
  });

  it("refuses the old credential once a re-enrolment replaced it", async () => {
    const first = await enrolled("it-cache-reenrol");
    expect((await authenticateAgent(first.authorization)).ok).toBe(true);
    const { issueEnrolmentToken } = await import("./servers");
    const { enrolmentToken } = await issueEnrolmentToken({ actor: systemActor(), request, name: "it-cache-reenrol", ttlMinutes: 60 });
    const second = await enrolAgent({ token: enrolmentToken, inventory, request });
    expect(await authenticateAgent(first.authorization)).toEqual({ ok: false, reason: "unknown_credential" });
    expect((await authenticateAgent(`Bearer ${second.credential}`)).ok).toBe(true);
  });

  it("is off while the LISTEN connection is down", async () => {
    const { authorization } = await enrolled("it-cache-down");
    await authenticateAgent(authorization);
    expect(credentialCacheSize()).toBeGreaterThan(0);
    await stopFleetListener();
    expect(credentialCacheSize()).toBe(0);
    await authenticateAgent(authorization);
    expect(credentialCacheSize()).toBe(0);
    await startFleetListener({ connectionString: url });
  });
});
