import type { Db } from "../db/client.js";
import type { EVENT_TYPES } from "./event-types.js";

/**
 * One row of the outbox (migration 0013) for a change the triggers do not see, written in the
 * caller's transaction so it commits or rolls back with the change; the webhook fan-out reads it
 * after commit. `agentId` feeds the subscriptions' agent filter.
 */
export async function insertDomainEvent(
  db: Db,
  eventType: (typeof EVENT_TYPES)[number],
  data: Record<string, unknown>,
  agentId: string | null = null,
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO domain_events (event_type, agent_id, data)
    VALUES (${eventType}, ${agentId}::uuid, ${JSON.stringify(data)}::jsonb)`;
}
