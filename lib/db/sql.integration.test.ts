import { describe, expect, it } from "vitest";
import { connectTestDatabase } from "@/test/use-database";
import { getDb } from "./client";
import { asSql, pooledSql, sqlTransaction } from "./sql";

connectTestDatabase();

// Every kind of value the deployment queries select, written the way lib/db/sql.ts asks (bigint cast, enum arrays as text[]).
const TYPES = `SELECT 42::int AS int, 2.5::float8 AS float, (2::bigint ^ 40)::float8 AS big, 'x'::text AS text, true AS bool,
  '00000000-0000-4000-8000-000000000001'::uuid AS uuid, 'READY'::"ReplicaPhase" AS enum, ARRAY['ONNX']::"ArtifactFormat"[]::text[] AS enums,
  ARRAY['a', 'b']::text[] AS texts, '{"a": [1, {"b": null}]}'::jsonb AS json, NULL::jsonb AS "nullJson",
  '2026-11-25T14:00:00.123Z'::timestamptz AS at, $1::jsonb AS param, $2::text[] AS "paramArray", $3::int AS "paramInt"`;
const VALUES = [JSON.stringify({ k: "v" }), ["p", "q"], 7];

describe("plain SQL in either kind of transaction", () => {
  it("returns the same values through pg and through a Prisma transaction", async () => {
    const throughPg = await sqlTransaction((sql) => sql.query(TYPES, VALUES));
    const throughPrisma = await getDb().$transaction((tx) => asSql(tx).query(TYPES, VALUES));
    expect(throughPrisma).toEqual(throughPg);
    expect(throughPg[0]).toMatchObject({ big: 2 ** 40, enums: ["ONNX"], json: { a: [1, { b: null }] }, at: new Date("2026-11-25T14:00:00.123Z"), paramInt: 7 });
  });

  it("commits when the work returns and rolls back when it throws", async () => {
    const exists = async (table: string) => (await pooledSql().query<{ found: boolean }>("SELECT to_regclass($1) IS NOT NULL AS found", [table]))[0]!.found;
    await sqlTransaction((sql) => sql.query("CREATE TABLE sql_it_committed (v int)"));
    expect(await exists("sql_it_committed")).toBe(true);
    await pooledSql().query("DROP TABLE sql_it_committed");
    await expect(
      sqlTransaction(async (sql) => {
        await sql.query("CREATE TABLE sql_it_rolled_back (v int)");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await exists("sql_it_rolled_back")).toBe(false);
  });
});
