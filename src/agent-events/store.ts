import type { Db } from "../db/client.js";
import type { AgentEvent } from "../generated/prisma/client.js";
import { decodeNumberIdCursor, type Page } from "../graphql/pagination.js";

// Agent events: reported by agents (service.ts), listed here, and fanned out live by
// delivery/agent-event-feed.ts, which should load them with findAgentEvent below.
export type AgentEventRow = AgentEvent;

export function insertAgentEvent(
  db: Db,
  data: { agentId: string; deploymentObjectId: string; eventType: string; status: string; message?: string | null },
) {
  return db.agentEvent.create({ data });
}

/**
 * Live events, newest first, keyset on (created_at, id). Cursors carry created_at as an
 * epoch-microsecond string: a JavaScript Date would drop PostgreSQL's microseconds.
 */
export async function listAgentEvents(
  db: Db,
  where: { agentId?: string; deploymentObjectId?: string; generatorId?: string },
  page: Page,
) {
  const [micros, id] = page.after ? decodeNumberIdCursor(page.after) : [null, null];
  const rows = await db.$queryRaw<{ id: string; micros: bigint }[]>`
    SELECT e.id, (extract(epoch from e.created_at) * 1000000)::bigint AS micros
      FROM agent_events e
      JOIN deployment_objects d ON d.id = e.deployment_object_id
     WHERE e.deleted_at IS NULL
       AND (${where.agentId ?? null}::uuid IS NULL OR e.agent_id = ${where.agentId ?? null}::uuid)
       AND (${where.deploymentObjectId ?? null}::uuid IS NULL OR e.deployment_object_id = ${where.deploymentObjectId ?? null}::uuid)
       AND (${where.generatorId ?? null}::uuid IS NULL OR d.generator_id = ${where.generatorId ?? null}::uuid)
       AND (${micros}::bigint IS NULL OR (extract(epoch from e.created_at) * 1000000)::bigint < ${micros}::bigint
            OR ((extract(epoch from e.created_at) * 1000000)::bigint = ${micros}::bigint AND e.id < ${id}::uuid))
     ORDER BY e.created_at DESC, e.id DESC
     LIMIT ${page.first + 1}`;
  if (rows.length === 0) return [];
  const events = await db.agentEvent.findMany({ where: { id: { in: rows.map((r) => r.id) } } });
  const byId = new Map(events.map((e) => [e.id, e]));
  // An event purged between the two statements is left out rather than returned as undefined.
  return rows.flatMap((r) => {
    const row = byId.get(r.id);
    return row ? [{ row, micros: String(r.micros) }] : [];
  });
}

/** The newest live events of one agent (REST GET /agents/{id}/events). */
export function recentEventsOfAgent(db: Db, agentId: string, limit = 500) {
  return db.agentEvent.findMany({ where: { agentId, deletedAt: null }, orderBy: { createdAt: "desc" }, take: limit });
}

export function findAgentEvent(db: Db, id: string) {
  return db.agentEvent.findUnique({ where: { id } });
}
