import { addTo, forEachOf, removeFrom, sizeOf, valuesOf, type SmallSet } from "../small-set.js";
import type { AgentSubscription } from "./agent-subscription.js";

/** A stack's subscribed agents, with the one copy of the stack's id its subscriptions share. */
class StackAgents extends Set<string> {
  constructor(readonly stackId: string) {
    super();
  }
}

/**
 * Open agentDeployments subscriptions by agent (the one subscription an agent almost always has
 * is kept bare, not in a Set of its own), and stack → agents for dispatching an object. Every
 * association read brings a string of its own per stack id; subscriptions keep the index's.
 */
export class SubscriptionIndex {
  private readonly byAgent = new Map<string, SmallSet<AgentSubscription>>();
  private readonly byStack = new Map<string, StackAgents>();

  add(sub: AgentSubscription): void {
    addTo(this.byAgent, sub.agentId, sub);
  }

  /** False when it was not indexed (closed twice). */
  remove(sub: AgentSubscription): boolean {
    if (!removeFrom(this.byAgent, sub.agentId, sub)) return false;
    for (const stackId of sub.stackIds()) this.unindex(sub.agentId, stackId);
    return true;
  }

  /** Sets a subscription's associations and keeps stack → agents in step. */
  install(sub: AgentSubscription, stacks: Set<string>, active: boolean): void {
    const before = sub.stackIds();
    const shared = new Set<string>();
    for (const stackId of stacks) {
      let agents = this.byStack.get(stackId);
      if (!agents) this.byStack.set(stackId, (agents = new StackAgents(stackId)));
      agents.add(sub.agentId);
      shared.add(agents.stackId);
    }
    sub.install(shared, active);
    for (const stackId of before) if (!stacks.has(stackId)) this.unindex(sub.agentId, stackId);
  }

  private unindex(agentId: string, stackId: string): void {
    const others = valuesOf(this.byAgent.get(agentId)).some((s) => s.hasStack(stackId));
    if (others) return;
    const agents = this.byStack.get(stackId);
    agents?.delete(agentId);
    if (agents?.size === 0) this.byStack.delete(stackId);
  }

  subscriptionsOf(agentId: string): readonly AgentSubscription[] {
    return valuesOf(this.byAgent.get(agentId));
  }

  /** Each of the agent's subscriptions, without building an array (dispatch runs this per agent per object). */
  forEachSubscription(agentId: string, fn: (sub: AgentSubscription) => void): void {
    forEachOf(this.byAgent.get(agentId), fn);
  }

  agentsOfStack(stackId: string): ReadonlySet<string> {
    return this.byStack.get(stackId) ?? new Set();
  }

  hasAgent(agentId: string): boolean {
    return this.byAgent.has(agentId);
  }

  agentIds(): string[] {
    return [...this.byAgent.keys()];
  }

  all(): AgentSubscription[] {
    return [...this.byAgent.values()].flatMap((slot) => valuesOf(slot));
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const slot of this.byAgent.values()) n += sizeOf(slot);
    return n;
  }

  get agentCount(): number {
    return this.byAgent.size;
  }
}
