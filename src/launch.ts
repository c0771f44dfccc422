import { createApp, type BrokerApp } from "./app.js";
import type { BrokerConfig } from "./config.js";
import { provisionDatabase } from "./db/provision.js";
import { describeStartFailure } from "./faults.js";

export interface LaunchedBroker {
  app: BrokerApp;
  url: string;
  mintedAdminPak?: string;
  embedded: boolean;
  /** Stops the broker, then the embedded PostgreSQL if it started one. */
  stop(): Promise<void>;
}

/**
 * Provisions the database (embedded when no URL is configured, migrated) and starts the broker.
 * A failed start stops everything it started, the embedded PostgreSQL included, and rejects
 * with an error whose message is one line saying why.
 */
export async function launchBroker(config: BrokerConfig): Promise<LaunchedBroker> {
  const database = await provisionDatabase(config).catch((err) => {
    throw describeStartFailure(err, config.broker);
  });
  let app: BrokerApp;
  let started: Awaited<ReturnType<BrokerApp["start"]>>;
  try {
    app = createApp(config, database.url);
    started = await app.start();
  } catch (err) {
    await database.stop().catch(() => {});
    throw err;
  }
  return {
    app,
    url: started.url,
    mintedAdminPak: started.mintedAdminPak,
    embedded: database.embedded,
    async stop() {
      try {
        await app.stop();
      } finally {
        await database.stop();
      }
    },
  };
}
