import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";

const DATABASE_IMPORTS = {
  paths: [{ name: "@prisma/client", message: "The database belongs to lib/: call a lib/ function instead." }],
  patterns: [{ group: ["@/lib/db/*", "**/lib/db/*"], message: "The database belongs to lib/: call a lib/ function instead." }],
};

export default tseslint.config(
  { ignores: ["dist/**", ".next/**", "node_modules/**", ".berth/**", "test-results/**", "playwright-report/**", "next-env.d.ts", "tmp/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx,mjs}"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "error",
    },
  },
  // Handlers stay thin: no SQL and no Prisma in app/ or components/ (STYLE.md).
  { files: ["app/**/*.{ts,tsx}", "components/**/*.{ts,tsx}"], rules: { "no-restricted-imports": ["error", DATABASE_IMPORTS] } },
  // The agent shares only the wire protocol with the control plane, never the database.
  {
    files: ["agents/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { ...DATABASE_IMPORTS, patterns: [...DATABASE_IMPORTS.patterns, { group: ["@/app/*", "@/components/*"], message: "The agent is independent of the web app." }] },
      ],
    },
  },
  // The runtime's server goes into a container with only onnxruntime-node beside it, and
  // image.ts is imported by both the control plane and the agent: neither reaches into Berth.
  {
    files: ["runtimes/**/*.ts"],
    ignores: ["runtimes/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          ...DATABASE_IMPORTS,
          patterns: [
            ...DATABASE_IMPORTS.patterns,
            { group: ["@/*", "next", "next/*", "react", "react-dom"], message: "runtimes/ stands alone: node built-ins, onnxruntime-node, dockerode (types) and esbuild only." },
          ],
        },
      ],
    },
  },
  // lib/ never imports app/ or components/ (DESIGN.md).
  {
    files: ["lib/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["@/app/*", "@/components/*"], message: "lib/ must not depend on app/ or components/." }] }] },
  },
);
