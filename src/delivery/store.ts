import { queryRows, type Db } from "../db/client.js";
import { OBJECT_COLUMNS, toObjectRow, type DeploymentObjectRow } from "../deployment-objects/store.js";

type RawObject = Parameters<typeof toObjectRow>[0];

/** The row of a SELECT that always returns exactly one (a function call, a sequence's state). */
function single<T>(rows: T[]): T {
  const [row] = rows;
  if (row === undefined) throw new Error("a single-row SELECT returned no row");
  return row;
}

/**
 * Highest sequence id below which every inserting transaction has finished (see the
 * brokkr_assign_sequence_id trigger): reading only up to it makes a cursor safe even when a
 * transaction holding a lower id commits after one holding a higher id.
 */
export async function readHorizon(db: Db, opts: { notify?: boolean } = {}): Promise<bigint> {
  // Plain pg (queryRows), as objectsInRange: the commit feed reads both up to 200 times a
  // second under writers, and Prisma's engine took about a tenth of the broker's CPU there.
  // With `notify` the statement's commit also wakes the other brokers (commit-feed.ts).
  const rows = await queryRows<{ h: bigint | string }>(
    db,
    opts.notify
      ? "SELECT brokkr_delivery_horizon() AS h, pg_notify('brokkr_objects', '')"
      : "SELECT brokkr_delivery_horizon() AS h",
    [],
  );
  return BigInt(single(rows).h);
}

/** The highest sequence id drawn so far (committed or not); no lock taken. */
export async function newestSequenceId(db: Db): Promise<bigint> {
  const rows = await db.$queryRaw<{ n: bigint }[]>`
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM deployment_objects_sequence_id_seq`;
  return BigInt(single(rows).n);
}

/** Which of these agents are live, and the newest sequence id drawn: one statement for many subscribers. */
export async function liveAgentsAndNewest(db: Db, agentIds: string[]): Promise<{ live: Set<string>; newest: bigint }> {
  const rows = await queryRows<{ newest: bigint | string; live: string[] }>(
    db,
    `SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM deployment_objects_sequence_id_seq) AS newest,
            ARRAY(SELECT id::text FROM agents WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL) AS live`,
    [agentIds],
  );
  const row = single(rows);
  return { live: new Set(row.live), newest: BigInt(row.newest) };
}

/** Live objects committed in (from, to], in sequence order. */
export async function objectsInRange(db: Db, from: bigint, to: bigint): Promise<DeploymentObjectRow[]> {
  const rows = await queryRows<RawObject>(
    db,
    `SELECT ${OBJECT_COLUMNS.sql} FROM deployment_objects d
      WHERE d.sequence_id > $1::bigint AND d.sequence_id <= $2::bigint AND d.deleted_at IS NULL
      ORDER BY d.sequence_id`,
    [from.toString(), to.toString()],
  );
  return rows.map(toObjectRow);
}

/** The newest live object at or below the horizon for each stack (plain pg: subscribes of a storm share it). */
export async function latestObjectsUpTo(db: Db, stackIds: string[], horizon: bigint): Promise<DeploymentObjectRow[]> {
  if (stackIds.length === 0) return [];
  const rows = await queryRows<RawObject>(
    db,
    `SELECT DISTINCT ON (d.stack_id) ${OBJECT_COLUMNS.sql} FROM deployment_objects d
      WHERE d.stack_id = ANY($1::uuid[]) AND d.deleted_at IS NULL AND d.sequence_id <= $2
      ORDER BY d.stack_id, d.sequence_id DESC`,
    [stackIds, horizon.toString()],
  );
  return rows.map(toObjectRow);
}

/** Objects of one stack in (after, horizon], for stackDeploymentObjects replay. */
export async function stackObjectsInRange(db: Db, stackId: string, after: bigint, horizon: bigint) {
  const rows = await db.$queryRaw<RawObject[]>`
    SELECT ${OBJECT_COLUMNS} FROM deployment_objects d
     WHERE d.stack_id = ${stackId}::uuid AND d.sequence_id > ${after} AND d.sequence_id <= ${horizon}
     ORDER BY d.sequence_id`;
  return rows.map(toObjectRow);
}
