import pg from "pg";
import { FIRST_PAGE_KEY, TABLE_COPIES, type TableCopy } from "./tables.js";

export interface TableSummary {
  table: string;
  read: number;
  copied: number;
}

export interface ImportSummary {
  tables: TableSummary[];
  /** Brokkr's admin PAK hash: copied, or kept the one this broker has already. */
  adminPakHash: "copied" | "kept existing" | "none in source";
}

const PAGE_SIZE = 500;

/**
 * Copies a Brokkr database's identities, stacks, targeting and deployment objects into ours (which
 * must be migrated), keeping ids and key hashes, so Brokkr's agents and pipelines keep their keys
 * and agents see the same target state. Idempotent: a second run copies nothing.
 */
export async function importFromBrokkr(sourceUrl: string, targetUrl: string, pageSize = PAGE_SIZE): Promise<ImportSummary> {
  const source = new pg.Client({ connectionString: sourceUrl, application_name: "brokkr-import (source)" });
  const target = new pg.Client({ connectionString: targetUrl, application_name: "brokkr-import" });
  await source.connect();
  try {
    await target.connect();
    // Read the whole source as of one snapshot, so its rows agree with each other.
    await source.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const tables: TableSummary[] = [];
    for (const copy of TABLE_COPIES) tables.push(await copyTable(source, target, copy, pageSize));
    const adminPakHash = await copyAdminPakHash(source, target);
    await source.query("COMMIT");
    return { tables, adminPakHash };
  } finally {
    await source.end();
    await target.end().catch(() => {});
  }
}

async function copyTable(
  source: pg.Client,
  target: pg.Client,
  copy: TableCopy & { pageKey: "uuid" | "bigint" },
  pageSize: number,
): Promise<TableSummary> {
  const summary = { table: copy.table, read: 0, copied: 0 };
  const read = (await allExist(source, copy.requires ?? [])) ? copy.read : copy.fallback;
  if (!read) return summary;
  const columns = copy.columns.join(", ");
  const write = `INSERT INTO ${copy.table} (${columns})
                 SELECT ${copy.columns.map((c) => `r.${c}`).join(", ")}
                   FROM json_populate_recordset(NULL::${copy.table}, $1::json) r
                  WHERE ${copy.parents ?? "true"}
                  ${copy.orderBy ? `ORDER BY ${copy.orderBy}` : ""}
                 ON CONFLICT DO NOTHING`;
  let after = FIRST_PAGE_KEY[copy.pageKey];
  for (;;) {
    const page = await source.query<{ page_key: string }>(read, [after, Math.min(pageSize, copy.pageSize ?? pageSize)]);
    if (page.rows.length === 0) return summary;
    const written = await target.query(write, [JSON.stringify(page.rows)]);
    summary.read += page.rows.length;
    summary.copied += written.rowCount ?? 0;
    after = page.rows.at(-1)?.page_key ?? after;
  }
}

async function allExist(source: pg.Client, tables: readonly string[]): Promise<boolean> {
  for (const table of tables) {
    const { rows } = await source.query<{ found: string | null }>("SELECT to_regclass($1)::text AS found", [table]);
    if (!rows[0]?.found) return false;
  }
  return true;
}

async function copyAdminPakHash(source: pg.Client, target: pg.Client): Promise<ImportSummary["adminPakHash"]> {
  if (!(await allExist(source, ["admin_role"]))) return "none in source";
  const { rows } = await source.query<{ pak_hash: string }>("SELECT pak_hash FROM admin_role WHERE pak_hash <> '' LIMIT 1");
  if (!rows[0]) return "none in source";
  const inserted = await target.query(
    "INSERT INTO broker_settings (key, value) VALUES ('admin_pak_hash', $1) ON CONFLICT (key) DO NOTHING",
    [rows[0].pak_hash],
  );
  return inserted.rowCount === 1 ? "copied" : "kept existing";
}
