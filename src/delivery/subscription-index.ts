import type { AgentSubscription } from "./agent-subscription.js";

/** Open agentDeployments subscriptions by agent, and stack → agents for dispatching an object. */
export class SubscriptionIndex {
  private readonly byAgent = new Map<string, Set<AgentSubscription>>();
  private readonly byStack = new Map<string, Set<string>>();

  add(sub: AgentSubscription): void {
    let subs = this.byAgent.get(sub.agentId);
    if (!subs) this.byAgent.set(sub.agentId, (subs = new Set()));
    subs.add(sub);
  }

  /** False when it was not indexed (closed twice). */
  remove(sub: AgentSubscription): boolean {
    const subs = this.byAgent.get(sub.agentId);
    if (!subs?.delete(sub)) return false;
    for (const stackId of sub.stacks) this.unindex(sub.agentId, stackId);
    if (subs.size === 0) this.byAgent.delete(sub.agentId);
    return true;
  }

  /** Sets a subscription's associations and keeps stack → agents in step. */
  install(sub: AgentSubscription, stacks: Set<string>, active: boolean): void {
    const before = sub.stacks;
    sub.install(stacks, active);
    for (const stackId of before) if (!stacks.has(stackId)) this.unindex(sub.agentId, stackId);
    for (const stackId of stacks) {
      let agents = this.byStack.get(stackId);
      if (!agents) this.byStack.set(stackId, (agents = new Set()));
      agents.add(sub.agentId);
    }
  }

  private unindex(agentId: string, stackId: string): void {
    const others = [...(this.byAgent.get(agentId) ?? [])].some((s) => s.stacks.has(stackId));
    if (others) return;
    const agents = this.byStack.get(stackId);
    agents?.delete(agentId);
    if (agents?.size === 0) this.byStack.delete(stackId);
  }

  subscriptionsOf(agentId: string): ReadonlySet<AgentSubscription> {
    return this.byAgent.get(agentId) ?? new Set();
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
    return [...this.byAgent.values()].flatMap((subs) => [...subs]);
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const subs of this.byAgent.values()) n += subs.size;
    return n;
  }

  get agentCount(): number {
    return this.byAgent.size;
  }
}
