import { findAgent } from "../agents/store.js";
import { stackReaches, stacksReaching } from "../associations/service.js";
import type { Db } from "../db/client.js";

/*
 * What an agent may read of stacks and their objects: what reaches it (src/associations/).
 * Reading stacks or objects must not be a way around the broker withholding target state, so
 * an agent that does not receive (inactive or deleted) reads no stacks at all.
 */

export async function readableStackIds(db: Db, agentId: string): Promise<string[]> {
  const agent = await findAgent(db, agentId);
  return agent ? stacksReaching(db, agent) : [];
}

export async function canReadStack(db: Db, agentId: string, stackId: string): Promise<boolean> {
  const agent = await findAgent(db, agentId);
  return agent ? stackReaches(db, agent, stackId) : false;
}
