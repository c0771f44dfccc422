import type { BrokerConfig } from "../config.js";
import { moduleLogger } from "../logger.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { migrateDatabase } from "./migrate.js";
import { ensureSchema, schemaScopedUrl } from "./schema-scope.js";

const log = moduleLogger("database");

export interface ProvisionedDatabase {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** The configured PostgreSQL, or an embedded one when none is configured; migrated either way. */
export async function provisionDatabase(config: BrokerConfig): Promise<ProvisionedDatabase> {
  let url = config.database.url;
  let stop = async () => {};
  if (!url) {
    const embedded = await startEmbeddedPostgres(config.database.embeddedDir, config.database.embeddedPort);
    url = embedded.url;
    stop = embedded.stop;
  }
  if (config.database.migrate) {
    log.info("applying pending migrations");
    try {
      const { schema } = config.database;
      if (schema) await ensureSchema(url, schema);
      await migrateDatabase(schemaScopedUrl(url, schema), schema);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return { url, embedded: !config.database.url, stop };
}
