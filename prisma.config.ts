import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

/**
 * @prisma/adapter-pg runs a migration script by splitting it on every ";"
 * (`script.split(";")` in its executeScript), which breaks any migration that
 * holds a PL/pgSQL function body or a semicolon in a comment. PostgreSQL's
 * simple query protocol takes the whole script in one message and runs it as
 * one implicit transaction, which is also what the stock Prisma engine does.
 */
class WholeScriptPrismaPg extends PrismaPg {
  async connect() {
    const adapter = await super.connect();
    const queryable = adapter as unknown as {
      client: { query: (sql: string) => Promise<unknown> };
      onError: (error: unknown) => never;
    };
    adapter.executeScript = async (script: string) => {
      try {
        await queryable.client.query(script);
      } catch (error) {
        queryable.onError(error);
      }
    };
    return adapter;
  }
}

// `engine: "js"` with a driver adapter makes the CLI use the WebAssembly schema
// engine it ships, so generate/migrate work with no download (ENVIRONMENT.md).
export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: path.join("prisma", "schema.prisma"),
  // BERTH_MIGRATIONS_DIR: only the upgrade test sets it, to build a database at an earlier release's schema.
  migrations: { path: process.env.BERTH_MIGRATIONS_DIR || path.join("prisma", "migrations") },
  // allowExitOnIdle: the pool's idle connection would otherwise hold the CLI open for 10 s.
  adapter: async () => new WholeScriptPrismaPg({ connectionString: process.env.DATABASE_URL, allowExitOnIdle: true }),
});
