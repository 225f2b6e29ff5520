#!/usr/bin/env node
// The `berth` command. It runs the TypeScript sources through tsx, the same
// way `npm start` runs the server, so there is no separate build to go stale.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
