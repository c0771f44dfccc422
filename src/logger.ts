import { pino, type Logger } from "pino";

const root: Logger = pino({
  level: "info",
  base: { service: "brokkr-broker" },
  redact: { paths: ["pak", "*.pak", "authorization", "*.authorization", "req.headers.authorization"], censor: "[redacted]" },
});

const children: Logger[] = [];

/** Children are made at import time, before configuration is read, so they follow the root here. */
export function setLogLevel(level: string): void {
  root.level = level;
  for (const child of children) child.level = level;
}

/** A child logger per module; errors are logged as `{ err }`. */
export function moduleLogger(module: string): Logger {
  const child = root.child({ module });
  children.push(child);
  return child;
}

export function rootLogger(): Logger {
  return root;
}
