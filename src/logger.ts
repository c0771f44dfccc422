import { pino, type Logger } from "pino";

let root: Logger = pino({
  level: "info",
  base: { service: "brokkr-broker" },
  redact: { paths: ["pak", "*.pak", "authorization", "*.authorization", "req.headers.authorization"], censor: "[redacted]" },
});

export function setLogLevel(level: string): void {
  root.level = level;
}

/** A child logger per module; errors are logged as `{ err }`. */
export function moduleLogger(module: string): Logger {
  return root.child({ module });
}

export function rootLogger(): Logger {
  return root;
}
