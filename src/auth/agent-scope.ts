import { findAgent } from "../agents/store.js";
import type { Db } from "../db/client.js";
import { associatedStackIds, isStackAssociated } from "../delivery/associations-store.js";

/*
 * What an agent may read of stacks and their objects. The broker withholds target state from an
 * inactive agent, so reading stacks or objects must not be a way around that: an inactive (or
 * deleted) agent reads no stacks at all.
 */

async function isActive(db: Db, agentId: string): Promise<boolean> {
  const agent = await findAgent(db, agentId);
  return agent?.status === "ACTIVE";
}

export async function readableStackIds(db: Db, agentId: string): Promise<string[]> {
  return (await isActive(db, agentId)) ? associatedStackIds(db, agentId) : [];
}

export async function canReadStack(db: Db, agentId: string, stackId: string): Promise<boolean> {
  return (await isActive(db, agentId)) && isStackAssociated(db, agentId, stackId);
}
