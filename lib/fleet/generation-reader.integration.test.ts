import { describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { connectTestDatabase } from "@/test/use-database";
import { systemActor } from "@/lib/auth/actor";
import { bumpGeneration } from "./agent-channel";
import { readGeneration } from "./generation-reader";
import { addServer } from "./servers";
import { pooledSql } from "@/lib/db/sql";

connectTestDatabase();
const request = { requestId: "it-generation-reader", sourceAddress: "127.0.0.1", userAgent: null };

describe("batched generation reads", () => {
  it("answers each of many concurrent reads with its own server's generation, and null for a server that is gone", async () => {
    const ids = await Promise.all(
      ["it-gr-a", "it-gr-b", "it-gr-c"].map(async (name) => (await addServer({ actor: systemActor(), request, input: { name, labels: {}, enrolmentTtlMinutes: 60 } })).server.id),
    );
    await bumpGeneration(pooledSql(), ids[1]!);
    await bumpGeneration(pooledSql(), ids[2]!);
    await bumpGeneration(pooledSql(), ids[2]!);
    const asked = [ids[0]!, ids[1]!, ids[2]!, randomUUID(), ids[2]!, ids[0]!];
    expect(await Promise.all(asked.map(readGeneration))).toEqual([1, 2, 3, null, 3, 1]);
    // A change committed after a read is seen by the next one.
    await bumpGeneration(pooledSql(), ids[0]!);
    expect(await readGeneration(ids[0]!)).toBe(2);
  });
});
