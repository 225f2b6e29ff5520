// The live walk's worker thread (verify-chain.ts). A worker does not inherit
// the parent's tsx loader (Node 20 runs a worker's --import and module.register
// hooks apart from the parent's), so it registers tsx itself before loading
// its TypeScript: the same register() that bin/berth.mjs uses.
import { register } from "tsx/esm/api";

register();
await import("./verify-chain-worker.ts");
