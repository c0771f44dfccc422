import type { AgentRow } from "../agents/store.js";
import type { Db } from "../db/client.js";
import { getAgent } from "../agents/service.js";
import { agentReceives, stacksReaching } from "../associations/service.js";
import type { DeliveryHub } from "./hub.js";
import { latestObjectsUpTo } from "./store.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";

export interface PollResult {
  /** Latest object of each associated stack that is newer than the cursor, in sequence order. */
  objects: DeploymentObjectRow[];
  /** Stacks that reach the agent now: a REST agent removes what is missing and fetches what it lacks. */
  stackIds: string[];
  cursor: bigint;
}

async function changesSince(db: Db, agent: AgentRow, after: bigint, horizon: bigint): Promise<PollResult> {
  const cursor = horizon > after ? horizon : after;
  if (!agentReceives(agent)) return { objects: [], stackIds: [], cursor };
  const stackIds = await stacksReaching(db, agent);
  const latest = await latestObjectsUpTo(db, stackIds, horizon);
  const objects = latest.filter((o) => o.sequenceId > after).sort((a, b) => (a.sequenceId < b.sequenceId ? -1 : 1));
  return { objects, stackIds, cursor };
}

/**
 * Long-poll for REST agents: answers at once when something newer than `after` is there,
 * else as soon as a change commits, else when `waitMs` runs out (with no objects).
 */
export async function pollDeployments(
  db: Db,
  hub: DeliveryHub,
  agentId: string,
  after: bigint,
  waitMs: number,
  signal?: AbortSignal,
): Promise<PollResult> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const agent = await getAgent(db, agentId);
    const result = await changesSince(db, agent, after, hub.horizon);
    const remaining = deadline - Date.now();
    if (result.objects.length > 0 || remaining <= 0 || signal?.aborted) return result;
    await hub.waitForChange(agentId, new Set(result.stackIds), remaining, signal);
  }
}
