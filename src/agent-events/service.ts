import type { Identity } from "../auth/identity.js";
import { badInput, forbidden, notFound } from "../errors.js";
import { inTransaction, type Database } from "../db/client.js";
import { isStackAssociated } from "../associations/store.js";
import { findObject } from "../deployment-objects/store.js";
import { LIMITS, optionalText, requireId, requireText } from "../validation.js";
import { findAgentEvent, insertAgentEvent, listAgentEvents } from "./store.js";
import { once, type Idempotency } from "../idempotency/service.js";
import { encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import type { Db } from "../db/client.js";
import { assertAgentMayWrite, getAgent } from "../agents/service.js";

export interface ReportAgentEventInput {
  agentId?: string | null;
  deploymentObjectId: string;
  eventType?: string | null;
  status: "SUCCESS" | "FAILURE";
  message?: string | null;
}

/** An agent reports for itself, on an object of a stack associated with it; the admin names the agent. */
export async function reportAgentEvent(
  db: Database,
  identity: Identity,
  input: ReportAgentEventInput,
  idempotency?: Idempotency,
) {
  let agentId: string;
  if (identity.role === "AGENT") {
    if (input.agentId && input.agentId !== identity.id) throw forbidden("an agent reports only its own events");
    agentId = identity.id;
  } else if (identity.role === "ADMIN") {
    if (!input.agentId) throw badInput("agentId", "agentId is required for the admin");
    agentId = requireId("agentId", input.agentId);
  } else {
    throw forbidden();
  }
  const agent = await getAgent(db, agentId, "agentId");
  if (identity.role === "AGENT") assertAgentMayWrite(agent);
  const object = await findObject(db, requireId("deploymentObjectId", input.deploymentObjectId));
  if (!object) throw notFound("deployment object");
  if (identity.role === "AGENT" && !(await isStackAssociated(db, agent.id, object.stackId))) {
    throw notFound("deployment object");
  }
  const data = {
    agentId: agent.id,
    deploymentObjectId: object.id,
    eventType: requireText("eventType", input.eventType ?? "APPLY", LIMITS.eventType),
    status: input.status,
    message: optionalText("message", input.message, LIMITS.eventMessage),
  };
  if (!idempotency?.key) return insertAgentEvent(db, data);
  const request = { identity, operation: "reportAgentEvent", input: data, idempotency };
  return inTransaction(db, (tx) =>
    once(
      tx,
      request,
      () => insertAgentEvent(tx, data),
      async (id) => (await findAgentEvent(tx, id)) ?? Promise.reject(notFound("agent event")),
    ),
  );
}

/** A page of live events, newest first. */
export async function eventsConnection(db: Db, where: Parameters<typeof listAgentEvents>[1], page: Page) {
  const rows = await listAgentEvents(db, where, page);
  const conn = toConnection(rows, page.first, (r) => encodeCursor([r.micros, r.row.id]));
  return { ...conn, edges: conn.edges.map((e) => ({ cursor: e.cursor, node: e.node.row })) };
}
