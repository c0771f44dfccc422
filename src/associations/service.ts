import type { Db } from "../db/client.js";
import type { AgentEventRow, TargetStateEntryModel } from "../delivery/types.js";
import * as store from "./store.js";

/**
 * The one rule for whether an agent receives anything at all: it is ACTIVE and not deleted.
 * The broker withholds target state, streams, stacks and objects from any other agent, whatever
 * it asks for.
 */
export function agentReceives(agent: { status: string; deletedAt: Date | null }): boolean {
  return agent.status === "ACTIVE" && agent.deletedAt === null;
}

type AgentLike = { id: string; status: string; deletedAt: Date | null };

/** The stacks that reach the agent now (none when it does not receive). */
export async function stacksReaching(db: Db, agent: AgentLike): Promise<string[]> {
  return agentReceives(agent) ? store.associatedStackIds(db, agent.id) : [];
}

export async function stackReaches(db: Db, agent: AgentLike, stackId: string): Promise<boolean> {
  return agentReceives(agent) && store.isStackAssociated(db, agent.id, stackId);
}

/** Whether each of many agents receives, by id (unknown ids: false). */
export async function receivingAgents(db: Db, agentIds: string[]): Promise<Map<string, boolean>> {
  const rows = await store.agentStatuses(db, agentIds);
  return new Map(rows.map((r) => [r.id, agentReceives(r)]));
}

/** For each stack reaching the agent, its latest object (a deletion marker for a deleted stack). */
export async function targetState(db: Db, agent: AgentLike, unreportedOnly = false): Promise<TargetStateEntryModel[]> {
  if (!agentReceives(agent)) return [];
  const objects = await store.targetStateObjects(db, agent.id, unreportedOnly);
  return objects.map((o) => ({ stackId: o.stackId, deploymentObject: o }));
}

export interface StackReach {
  agentId: string;
  reasons: store.ReachReasonValue[];
  lastEvent: AgentEventRow | null;
}

/** A page of the agents a stack reaches and why, with what each last reported for it. */
export async function reachOfStack(db: Db, stackId: string, afterAgentId: string | null, limit: number): Promise<StackReach[]> {
  const rows = await store.reachedAgentsOfStack(db, stackId, afterAgentId, limit);
  const events = new Map(
    (
      await store.eventsByIds(
        db,
        rows.flatMap((r) => (r.last_event_id ? [r.last_event_id] : [])),
      )
    ).map((e) => [e.id, e]),
  );
  return rows.map((r) => ({
    agentId: r.agent_id,
    reasons: r.reasons,
    lastEvent: (r.last_event_id && events.get(r.last_event_id)) || null,
  }));
}
