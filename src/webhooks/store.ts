import type { Db } from "../db/client.js";

/** A webhook_subscriptions row; the *_encrypted columns never leave the webhooks domain. */
export interface SubscriptionRow {
  id: string;
  seq: bigint;
  name: string;
  url_encrypted: string;
  auth_header_encrypted: string | null;
  secret_encrypted: string;
  event_types: string[];
  filter_agent_id: string | null;
  filter_stack_id: string | null;
  target_labels: string[] | null;
  enabled: boolean;
  max_retries: number;
  timeout_seconds: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type SubscriptionWrite = Omit<SubscriptionRow, "seq" | "created_at" | "updated_at" | "created_by">;

/** Inserts the value unless the key exists; returns the stored value (ours or a racing broker's). */
export async function insertSettingIfAbsent(db: Db, key: string, value: string): Promise<string> {
  await db.$executeRaw`INSERT INTO broker_settings (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO NOTHING`;
  const rows = await db.$queryRaw<{ value: string }[]>`SELECT value FROM broker_settings WHERE key = ${key}`;
  const stored = rows[0]?.value;
  if (stored === undefined) throw new Error(`broker setting ${key} vanished`);
  return stored;
}

export async function insertSubscription(db: Db, s: SubscriptionWrite, createdBy: string): Promise<SubscriptionRow> {
  const rows = await db.$queryRaw<SubscriptionRow[]>`
    INSERT INTO webhook_subscriptions (id, name, url_encrypted, auth_header_encrypted, secret_encrypted, event_types,
                                       filter_agent_id, filter_stack_id, target_labels, enabled, max_retries,
                                       timeout_seconds, created_by)
    VALUES (${s.id}::uuid, ${s.name}, ${s.url_encrypted}, ${s.auth_header_encrypted}, ${s.secret_encrypted},
            ${s.event_types}::text[], ${s.filter_agent_id}::uuid, ${s.filter_stack_id}::uuid, ${s.target_labels}::text[],
            ${s.enabled}, ${s.max_retries}, ${s.timeout_seconds}, ${createdBy})
    RETURNING *`;
  return rows[0] as SubscriptionRow;
}

export async function findSubscription(db: Db, id: string, forUpdate = false): Promise<SubscriptionRow | null> {
  const rows = forUpdate
    ? await db.$queryRaw<SubscriptionRow[]>`SELECT * FROM webhook_subscriptions WHERE id = ${id}::uuid FOR UPDATE`
    : await db.$queryRaw<SubscriptionRow[]>`SELECT * FROM webhook_subscriptions WHERE id = ${id}::uuid`;
  return rows[0] ?? null;
}

/** One page in creation order, after the row numbered `afterSeq`. */
export function listSubscriptions(db: Db, limit: number, afterSeq = 0n) {
  return db.$queryRaw<SubscriptionRow[]>`
    SELECT * FROM webhook_subscriptions WHERE seq > ${afterSeq}::bigint ORDER BY seq LIMIT ${limit}`;
}

export async function updateSubscription(db: Db, s: SubscriptionWrite): Promise<SubscriptionRow> {
  const rows = await db.$queryRaw<SubscriptionRow[]>`
    UPDATE webhook_subscriptions
       SET name = ${s.name}, url_encrypted = ${s.url_encrypted}, auth_header_encrypted = ${s.auth_header_encrypted},
           secret_encrypted = ${s.secret_encrypted}, event_types = ${s.event_types}::text[],
           filter_agent_id = ${s.filter_agent_id}::uuid, filter_stack_id = ${s.filter_stack_id}::uuid,
           target_labels = ${s.target_labels}::text[], enabled = ${s.enabled}, max_retries = ${s.max_retries},
           timeout_seconds = ${s.timeout_seconds}
     WHERE id = ${s.id}::uuid
    RETURNING *`;
  return rows[0] as SubscriptionRow;
}

export async function deleteSubscription(db: Db, id: string): Promise<boolean> {
  return (await db.$executeRaw`DELETE FROM webhook_subscriptions WHERE id = ${id}::uuid`) > 0;
}
