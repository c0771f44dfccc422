import pg from "pg";

/**
 * A connection string whose sessions use `schema` (BROKKR__DATABASE__SCHEMA) as their search
 * path, so unqualified SQL (migrations, triggers, plain-pg stores) reads and writes that schema.
 * Prisma qualifies its own queries by the adapter's `schema` option (src/db/client.ts). The name
 * is validated by the config schema, so it needs no quoting beyond PostgreSQL's identifier rules.
 */
export function schemaScopedUrl(url: string, schema: string | undefined): string {
  if (!schema) return url;
  const parsed = new URL(url);
  parsed.searchParams.set("options", `-c search_path=${schema}`);
  return parsed.toString();
}

/** Creates the broker's schema when it does not exist yet (before migrating into it). */
export async function ensureSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {}); // a connection lost after the query has no one to tell
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end().catch(() => {});
  }
}
