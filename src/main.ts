// The only file that listens for signals, prints to the console or exits.
import { createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { provisionDatabase } from "./db/provision.js";
import { rootLogger, setLogLevel } from "./logger.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) console.error(`brokkr: invalid configuration: ${problem}`);
      process.exit(1);
    }
    throw err;
  }
  setLogLevel(config.log.level);
  const log = rootLogger();
  const database = await provisionDatabase(config);
  const app = createApp(config, database.url);
  const { url, mintedAdminPak } = await app.start();
  if (mintedAdminPak) {
    console.log(
      `\nAdmin PAK (shown once; store it safely): ${mintedAdminPak}\n` +
        `Use it as: Authorization: Bearer <PAK>\n`,
    );
  }
  console.log(`Brokkr broker ready: ${url}/graphql${database.embedded ? " (embedded PostgreSQL)" : ""}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), config.broker.shutdownTimeoutMs + 5000);
    force.unref();
    try {
      await app.stop();
      await database.stop();
      process.exit(0);
    } catch (err) {
      log.error({ err }, "shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  console.error(`brokkr: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
