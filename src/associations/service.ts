import type { Db } from "../db/client.js";
import type { TargetStateEntryModel } from "../delivery/types.js";
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
