import pino from "pino";

// Structured JSON logs. Secrets never reach a log line: headers that carry
// them are redacted by path, whatever the call site passes in.
const holder = globalThis as unknown as { __berthLogger?: pino.Logger };

export const logger: pino.Logger = (holder.__berthLogger ??= pino({
  level: process.env.BERTH_LOG_LEVEL || "info",
  base: { service: "berth" },
  redact: {
    paths: ["req.headers.authorization", "req.headers.cookie", "headers.authorization", "headers.cookie", "password", "*.password", "secret", "*.secret", "token", "*.token"],
    censor: "[redacted]",
  },
}));
