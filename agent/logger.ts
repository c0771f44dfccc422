import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** The agent's root logger; modules take `logger.child({ module })`. PAKs are redacted wherever they appear. */
export function createLogger(level = "info"): Logger {
  return pino({
    level,
    base: { service: "brokkr-agent" },
    redact: {
      paths: ["pak", "*.pak", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization"],
      censor: "[redacted]",
    },
  });
}
