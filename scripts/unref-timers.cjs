// Preloaded into the Prisma CLI: its WebAssembly schema engine leaves a 10 s
// timer that keeps the process alive after the work is done (ENVIRONMENT.md).
// Unref'ing long timers lets `migrate deploy` exit in about a second.
const originalSetTimeout = global.setTimeout;
global.setTimeout = function patchedSetTimeout(fn, ms, ...args) {
  const timer = originalSetTimeout(fn, ms, ...args);
  if (typeof ms === "number" && ms >= 1000 && timer && typeof timer.unref === "function") timer.unref();
  return timer;
};
