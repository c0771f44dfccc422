import type { Db } from "../db/client.js";

export interface KeyClaim {
  scope: string;
  operation: string;
  key: string;
  requestHash: string;
  ttlSeconds: number;
}

/**
 * Claims a key in one statement: inserts it, or takes over an expired row of the same key, and
 * purges a few other expired rows on the way. Returns true when the caller now holds the key.
 * A concurrent claim of the same key waits on the unique index until the first transaction
 * ends, then sees its row: two retries in flight cannot both create.
 */
export async function claimKey(db: Db, c: KeyClaim): Promise<boolean> {
  const rows = await db.$queryRaw<{ claimed: boolean }[]>`
    WITH purge AS (
      DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM idempotency_keys
         WHERE expires_at < now() AND NOT (scope = ${c.scope} AND operation = ${c.operation} AND key = ${c.key})
         LIMIT 20))
    )
    INSERT INTO idempotency_keys (scope, operation, key, request_hash, expires_at)
    VALUES (${c.scope}, ${c.operation}, ${c.key}, ${c.requestHash}, now() + make_interval(secs => ${c.ttlSeconds}))
    ON CONFLICT (scope, operation, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, result_id = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
     WHERE idempotency_keys.expires_at < now()
    RETURNING true AS claimed`;
  return rows.length > 0;
}

export async function findKey(db: Db, c: Pick<KeyClaim, "scope" | "operation" | "key">) {
  const rows = await db.$queryRaw<{ request_hash: string; result_id: string | null }[]>`
    SELECT request_hash, result_id FROM idempotency_keys WHERE scope = ${c.scope} AND operation = ${c.operation} AND key = ${c.key}`;
  return rows[0] ? { requestHash: rows[0].request_hash, resultId: rows[0].result_id } : null;
}

export async function recordResult(db: Db, c: Pick<KeyClaim, "scope" | "operation" | "key">, resultId: string): Promise<void> {
  await db.$executeRaw`
    UPDATE idempotency_keys SET result_id = ${resultId}::uuid WHERE scope = ${c.scope} AND operation = ${c.operation} AND key = ${c.key}`;
}
