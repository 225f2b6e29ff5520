import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: "unit",
          include: ["{lib,app,cli,server,agents,components,samples,runtimes}/**/*.test.ts"],
          exclude: ["**/*.integration.test.ts", "node_modules/**"],
          environment: "node",
        },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["{lib,app,cli,server,agents,runtimes,deploy}/**/*.integration.test.ts"],
          environment: "node",
          globalSetup: ["./test/integration-database.ts"],
          // One database for the run; files run one after another so the
          // audit-chain assertions see only their own writes.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
