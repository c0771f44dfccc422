import type { AgentRow } from "../agents/store.js";
import type { Db } from "../db/client.js";
import { targetStateObjects } from "./associations-store.js";
import type { TargetStateEntryModel } from "./types.js";

/** The broker withholds target state from an inactive agent, whatever the agent asks for. */
export async function targetState(db: Db, agent: AgentRow, unreportedOnly = false): Promise<TargetStateEntryModel[]> {
  if (agent.status !== "ACTIVE" || agent.deletedAt) return [];
  const objects = await targetStateObjects(db, agent.id, unreportedOnly);
  return objects.map((o) => ({ stackId: o.stackId, deploymentObject: o }));
}
