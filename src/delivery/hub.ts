import type { Db } from "../db/client.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { moduleLogger } from "../logger.js";
import { AgentSubscription } from "./agent-subscription.js";
import type { NotificationListener } from "./listener.js";
import type { DeliveryMetrics } from "./metrics.js";
import * as store from "./store.js";
import * as associations from "../associations/store.js";
import { receivingAgents } from "../associations/service.js";
import { AgentEventFeed } from "./agent-event-feed.js";
import { CommitFeed, type CommitHook } from "./commit-feed.js";
import { ConnectionRegistry } from "./connections.js";

const log = moduleLogger("delivery");

type ObjectListener = (object: DeploymentObjectRow) => void;
/** A waiting long-poll: woken by objects of its stacks or by association changes. */
type ChangeWaiter = { agentId: string; stackIds: ReadonlySet<string>; wake: () => void };
export interface SlowConsumerGuard {
  onOverflow: () => void;
  backedUp?: () => boolean;
}

/**
 * Fan-out for one broker process. New objects come in commit-safe order from the CommitFeed
 * (read once per wake-up) and are pushed to every subscription whose agent the stack reaches,
 * from an in-memory index stack → agents kept current by association notifications.
 */
export class DeliveryHub implements CommitHook {
  private readonly byAgent = new Map<string, Set<AgentSubscription>>();
  private readonly byStack = new Map<string, Set<string>>();
  private readonly objectListeners = new Set<ObjectListener>();
  private readonly changeWaiters = new Set<ChangeWaiter>();
  /** Stacks that got objects in the batch being dispatched (for long-poll wake-ups). */
  private batchStacks = new Set<string>();
  /** Live agent events for UIs (agentEventsAdded). */
  readonly agentEvents: AgentEventFeed;
  /** Open websockets by identity, closed when their key is revoked. */
  readonly connections: ConnectionRegistry;
  private associationChain: Promise<void> = Promise.resolve();
  private readonly feed: CommitFeed;

  constructor(
    private readonly db: Db,
    private readonly listener: NotificationListener,
    private readonly metrics: DeliveryMetrics,
    private readonly queueLimit = 10_000,
  ) {
    this.agentEvents = new AgentEventFeed(db);
    this.connections = new ConnectionRegistry(db);
    this.feed = new CommitFeed(db, (object) => this.dispatch(object), () => this.wakeForBatch());
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.listener.on("notification", (channel, payload) => {
      if (channel === "brokkr_objects") void this.feed.pump();
      else if (channel === "brokkr_associations") this.onAssociationChange(payload);
      else if (channel === "brokkr_agent_events") void this.agentEvents.notified(payload);
      else if (channel === "brokkr_identities") this.connections.identityChanged(payload);
    });
    this.listener.on("resync", () => {
      this.connections.recheckAll();
      void this.feed.pump();
      this.enqueueAssociations(() => this.refreshAgents([...this.byAgent.keys()]));
    });
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const subs of this.byAgent.values()) n += subs.size;
    return n;
  }

  get connectedAgentCount(): number {
    return this.byAgent.size;
  }

  /** The CommitHook: this broker committed objects with deferred notification. */
  objectsCommitted(): void {
    this.feed.objectsCommitted();
  }

  /** The sequence id up to which every object has been dispatched. */
  get horizon(): bigint {
    return this.feed.horizon;
  }

  private dispatch(object: DeploymentObjectRow): void {
    if (this.changeWaiters.size > 0) this.batchStacks.add(object.stackId);
    for (const agentId of this.byStack.get(object.stackId) ?? []) {
      for (const sub of this.byAgent.get(agentId) ?? []) sub.deploy(object);
    }
    for (const listener of this.objectListeners) listener(object);
  }

  /** Opens an agent's stream: replay since `after`, then live. */
  async subscribeAgent(agentId: string, after: bigint, guard: SlowConsumerGuard): Promise<AgentSubscription> {
    const sub = new AgentSubscription(agentId, after, {
      limit: this.queueLimit,
      onOverflow: guard.onOverflow,
      backedUp: guard.backedUp,
      onClose: () => this.unsubscribe(sub),
      onSend: (o) => this.metrics.delivered(o),
    });
    let subs = this.byAgent.get(agentId);
    if (!subs) this.byAgent.set(agentId, (subs = new Set()));
    subs.add(sub);
    this.metrics.subscriptionOpened();
    try {
      await this.initialise(sub);
    } catch (err) {
      sub.queue.close();
      throw err;
    }
    return sub;
  }

  private async initialise(sub: AgentSubscription): Promise<void> {
    do {
      sub.associationsDirty = false;
      const [pairs, states] = await Promise.all([
        associations.associationsOfAgents(this.db, [sub.agentId]),
        receivingAgents(this.db, [sub.agentId]),
      ]);
      this.install(sub, new Set(pairs.map((p) => p.stack_id)), states.get(sub.agentId) ?? false);
    } while (sub.associationsDirty);
    sub.initialised = true;
    // Everything above this horizon reaches the subscription live (its stacks are indexed now).
    const upTo = this.horizon;
    const latest = sub.active ? await store.latestObjectsUpTo(this.db, [...sub.stacks], upTo) : [];
    latest.sort((a, b) => (a.sequenceId < b.sequenceId ? -1 : 1));
    for (const object of latest) sub.replay(object);
    sub.finishReplay();
  }

  private install(sub: AgentSubscription, stacks: Set<string>, active: boolean): void {
    for (const stackId of sub.stacks) if (!stacks.has(stackId)) this.unindex(sub.agentId, stackId);
    for (const stackId of stacks) {
      let agents = this.byStack.get(stackId);
      if (!agents) this.byStack.set(stackId, (agents = new Set()));
      agents.add(sub.agentId);
    }
    sub.stacks = stacks;
    sub.active = active;
  }

  private unindex(agentId: string, stackId: string): void {
    const others = [...(this.byAgent.get(agentId) ?? [])].some((s) => s.stacks.has(stackId));
    if (others) return;
    const agents = this.byStack.get(stackId);
    agents?.delete(agentId);
    if (agents?.size === 0) this.byStack.delete(stackId);
  }

  private unsubscribe(sub: AgentSubscription): void {
    const subs = this.byAgent.get(sub.agentId);
    if (!subs?.delete(sub)) return;
    this.metrics.subscriptionClosed();
    for (const stackId of sub.stacks) this.unindex(sub.agentId, stackId);
    if (subs.size === 0) this.byAgent.delete(sub.agentId);
  }

  private onAssociationChange(payload: string): void {
    const [kind, id] = payload.split(":");
    if (!id) return;
    for (const subs of this.byAgent.values()) for (const s of subs) if (!s.initialised) s.associationsDirty = true;
    if (kind === "agent" && this.byAgent.has(id)) this.enqueueAssociations(() => this.refreshAgents([id]));
    if (kind === "stack") this.enqueueAssociations(() => this.refreshStack(id));
    // A stack change (labels, deletion) may concern any agent; an agent change only that agent.
    for (const w of [...this.changeWaiters]) if (kind === "stack" || w.agentId === id) w.wake();
  }

  private enqueueAssociations(task: () => Promise<void>): void {
    this.associationChain = this.associationChain.then(task).catch((err) => {
      log.error({ err }, "recomputing associations failed");
    });
  }

  private async refreshStack(stackId: string): Promise<void> {
    const subscribed = [...this.byAgent.keys()];
    const now = new Set(await associations.agentsOfStack(this.db, stackId, subscribed));
    const before = this.byStack.get(stackId) ?? new Set<string>();
    const changed = subscribed.filter((a) => now.has(a) !== before.has(a));
    if (changed.length > 0) await this.refreshAgents(changed);
  }

  /** Recomputes the associations of subscribed agents and sends DEPLOY / UNTARGETED for the difference. */
  private async refreshAgents(agentIds: string[]): Promise<void> {
    const ids = agentIds.filter((id) => this.byAgent.has(id));
    if (ids.length === 0) return;
    const [pairs, states] = await Promise.all([associations.associationsOfAgents(this.db, ids), receivingAgents(this.db, ids)]);
    const stacksOf = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
    for (const p of pairs) stacksOf.get(p.agent_id)?.add(p.stack_id);
    const toDeploy = new Map<AgentSubscription, string[]>();
    for (const agentId of ids) {
      const next = stacksOf.get(agentId)!;
      const active = states.get(agentId) ?? false;
      for (const sub of this.byAgent.get(agentId) ?? []) {
        if (!sub.initialised) continue;
        const wasActive = sub.active;
        const added = [...next].filter((s) => !sub.stacks.has(s) || (active && !wasActive));
        const removed = wasActive && active ? [...sub.stacks].filter((s) => !next.has(s)) : [];
        this.install(sub, next, active);
        for (const stackId of removed) sub.untarget(stackId);
        if (active && added.length) toDeploy.set(sub, added);
      }
    }
    // Every id up to a subscription's cursor is settled (another broker's horizon passed it), so
    // a lagging feed reads the true latest up to the cursor, not a stale one up to its horizon.
    const wanted = [...new Set([...toDeploy.values()].flat())];
    let upTo = this.horizon;
    for (const sub of toDeploy.keys()) if (sub.cursor > upTo) upTo = sub.cursor;
    const latest = await store.latestObjectsUpTo(this.db, wanted, upTo);
    const byStack = new Map(latest.map((o) => [o.stackId, o]));
    for (const [sub, stacks] of toDeploy) {
      for (const stackId of stacks) {
        const object = byStack.get(stackId);
        if (object && (object.sequenceId <= this.horizon || object.sequenceId <= sub.cursor)) sub.target(object);
      }
    }
  }

  /** Stack watchers (stackDeploymentObjects): called with every new object in commit order. */
  onObject(listener: ObjectListener): () => void {
    this.objectListeners.add(listener);
    return () => this.objectListeners.delete(listener);
  }

  /**
   * For the long-poll: resolves when an object of one of `stackIds` is dispatched, when the
   * agent's associations may have changed, or after `ms`.
   */
  waitForChange(agentId: string, stackIds: ReadonlySet<string>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: ChangeWaiter = {
        agentId,
        stackIds,
        wake: () => {
          clearTimeout(timer);
          this.changeWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      this.changeWaiters.add(waiter);
    });
  }

  private wakeForBatch(): void {
    const stacks = this.batchStacks;
    if (stacks.size === 0) return;
    this.batchStacks = new Set();
    for (const w of [...this.changeWaiters]) {
      for (const stackId of stacks) {
        if (w.stackIds.has(stackId)) {
          w.wake();
          break;
        }
      }
    }
  }

  /** Test hook: this broker's commit feed stops reading until the returned function is called. */
  simulateLag(): () => void {
    return this.feed.hold();
  }

  /** Counts a subscriber cut off for not reading. */
  slowConsumerClosed(): void {
    this.metrics.slowConsumers.inc();
  }

  /** Closes every stream of an agent (deleted agent, rotated PAK). */
  closeAgent(agentId: string): void {
    for (const sub of [...(this.byAgent.get(agentId) ?? [])]) sub.queue.close();
  }

  stop(): void {
    this.feed.stop();
    for (const subs of [...this.byAgent.values()]) for (const sub of [...subs]) sub.queue.close();
    for (const w of [...this.changeWaiters]) w.wake();
  }
}
