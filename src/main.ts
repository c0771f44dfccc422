// The only file that listens for signals, prints to the console or exits.
import { ConfigError, loadConfig, type BrokerConfig } from "./config.js";
import { classifyFault } from "./errors.js";
import type { FaultRecorder } from "./faults.js";
import { launchBroker, type LaunchedBroker } from "./launch.js";
import { rootLogger, setLogLevel } from "./logger.js";

function readConfig(): BrokerConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`brokkr: invalid configuration: ${problem}`);
    process.exit(1);
  }
}

/**
 * Last line of defence: every database and network error path has its own handler, but one
 * that slips through (an 'error' event nobody listens to, a rejected promise nobody awaits)
 * is logged and counted instead of ending the process. Anything else still ends it.
 */
function keepAliveOnFaults(faults: () => FaultRecorder | undefined): void {
  const log = rootLogger();
  process.on("unhandledRejection", (reason) => {
    if (classifyFault(reason)) faults()?.record("process", reason);
    else log.error({ err: reason }, "unhandled promise rejection");
  });
  process.on("uncaughtException", (err) => {
    if (classifyFault(err)) return void faults()?.record("process", err);
    log.fatal({ err }, "uncaught exception; exiting");
    process.exit(1);
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  setLogLevel(config.log.level);
  const log = rootLogger();
  let broker: LaunchedBroker | undefined;
  let stopping = false;
  keepAliveOnFaults(() => broker?.app.faults);
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), config.broker.shutdownTimeoutMs + 5000);
    force.unref();
    try {
      // A signal during start-up waits for it, so the embedded PostgreSQL is never orphaned.
      await starting.catch(() => {});
      await broker?.stop();
      process.exit(0);
    } catch (err) {
      log.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  const starting = launchBroker(config);
  broker = await starting;
  if (broker.mintedAdminPak) {
    console.log(`\nAdmin PAK (shown once; store it safely): ${broker.mintedAdminPak}\nUse it as: Authorization: Bearer <PAK>\n`);
  }
  console.log(
    `Brokkr broker ready: ${broker.url}/ (the console; GraphQL at ${broker.url}/graphql)${broker.embedded ? " (embedded PostgreSQL)" : ""}`,
  );
}

main().catch((err) => {
  const message = err instanceof Error ? err.message : String(err);
  // Prisma's messages start with an empty line: the first line that says something.
  const line = message.split("\n").find((l) => l.trim() !== "") ?? "unknown error (see the log)";
  console.error(`brokkr: failed to start: ${line.trim()}`);
  process.exit(1);
});
