import { receivingAgents } from "../associations/service.js";
import * as associations from "../associations/store.js";
import { Batcher } from "../db/batcher.js";
import type { Db } from "../db/client.js";
import { moduleLogger } from "../logger.js";
import type { AgentSubscription } from "./agent-subscription.js";
import * as store from "./store.js";
import type { SubscriptionIndex } from "./subscription-index.js";

const log = moduleLogger("delivery");

/**
 * Keeps each subscription's associations (which stacks reach its agent, whether it receives)
 * current from association notifications, and sends DEPLOY / UNTARGETED for the difference.
 * Recomputations run one at a time, in notification order.
 */
export class AssociationSync {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly index: SubscriptionIndex,
    /** The sequence id up to which the commit feed has dispatched every object. */
    private readonly horizon: () => bigint,
  ) {}

  /**
   * A new subscription: its associations, then the replay of what it missed since its cursor.
   * Subscriptions opening together (a reconnect storm) share the statements (initialiseAll).
   */
  async initialise(sub: AgentSubscription): Promise<void> {
    await this.initialising.load(sub);
  }

  private readonly initialising = new Batcher<AgentSubscription, undefined>((subs) => this.initialiseAll(subs));

  private async initialiseAll(subs: AgentSubscription[]): Promise<undefined[]> {
    // Read again for any subscription whose associations changed while the read ran.
    for (let pending = subs; pending.length > 0; pending = pending.filter((s) => s.takeAssociationsDirty())) {
      for (const sub of pending) sub.takeAssociationsDirty();
      const ids = [...new Set(pending.map((s) => s.agentId))];
      const [pairs, receiving] = await Promise.all([
        associations.associationsOfAgents(this.db, ids),
        receivingAgents(this.db, ids),
      ]);
      const stacksOf = new Map<string, string[]>();
      for (const p of pairs) stacksOf.set(p.agent_id, [...(stacksOf.get(p.agent_id) ?? []), p.stack_id]);
      for (const sub of pending) this.index.install(sub, new Set(stacksOf.get(sub.agentId)), receiving.get(sub.agentId) ?? false);
    }
    for (const sub of subs) sub.markInitialised();
    // Everything above this horizon reaches the subscriptions live (their stacks are indexed now).
    const upTo = this.horizon();
    const wanted = [...new Set(subs.filter((s) => s.active).flatMap((s) => [...s.stacks]))];
    const latest = new Map((await store.latestObjectsUpTo(this.db, wanted, upTo)).map((o) => [o.stackId, o]));
    for (const sub of subs) {
      const mine = sub.active ? [...sub.stacks].flatMap((id) => latest.get(id) ?? []) : [];
      mine.sort((a, b) => (a.sequenceId < b.sequenceId ? -1 : 1));
      for (const object of mine) sub.replay(object);
      sub.finishReplay();
    }
    return subs.map(() => undefined);
  }

  /** An association notification: `agent:<id>` or `stack:<id>`. */
  changed(kind: string, id: string): void {
    for (const sub of this.index.all()) sub.markAssociationsDirty();
    if (kind === "agent" && this.index.hasAgent(id)) this.enqueue(() => this.refreshAgents([id]));
    if (kind === "stack") this.enqueue(() => this.refreshStack(id));
  }

  /** After a LISTEN reconnect: every subscribed agent, since notifications were lost. */
  resync(): void {
    this.enqueue(() => this.refreshAgents(this.index.agentIds()));
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err) => {
      log.error({ err }, "recomputing associations failed");
    });
  }

  private async refreshStack(stackId: string): Promise<void> {
    const subscribed = this.index.agentIds();
    const now = new Set(await associations.agentsOfStack(this.db, stackId, subscribed));
    const before = this.index.agentsOfStack(stackId);
    const changed = subscribed.filter((a) => now.has(a) !== before.has(a));
    if (changed.length > 0) await this.refreshAgents(changed);
  }

  private async refreshAgents(agentIds: string[]): Promise<void> {
    const ids = agentIds.filter((id) => this.index.hasAgent(id));
    if (ids.length === 0) return;
    const [pairs, receiving] = await Promise.all([
      associations.associationsOfAgents(this.db, ids),
      receivingAgents(this.db, ids),
    ]);
    const stacksOf = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
    for (const p of pairs) stacksOf.get(p.agent_id)?.add(p.stack_id);
    const toDeploy = new Map<AgentSubscription, string[]>();
    for (const agentId of ids) {
      const next = stacksOf.get(agentId) ?? new Set<string>();
      const active = receiving.get(agentId) ?? false;
      for (const sub of this.index.subscriptionsOf(agentId)) {
        if (!sub.isInitialised) continue;
        const wasActive = sub.active;
        const added = [...next].filter((s) => !sub.stacks.has(s) || (active && !wasActive));
        const removed = wasActive && active ? [...sub.stacks].filter((s) => !next.has(s)) : [];
        this.index.install(sub, new Set(next), active);
        for (const stackId of removed) sub.untarget(stackId);
        if (active && added.length) toDeploy.set(sub, added);
      }
    }
    await this.sendLatest(toDeploy);
  }

  /** The latest object of each newly targeted stack. */
  private async sendLatest(toDeploy: Map<AgentSubscription, string[]>): Promise<void> {
    if (toDeploy.size === 0) return;
    // Every id up to a subscription's cursor is settled (another broker's horizon passed it), so
    // a lagging feed reads the true latest up to the cursor, not a stale one up to its horizon.
    const horizon = this.horizon();
    let upTo = horizon;
    for (const sub of toDeploy.keys()) if (sub.cursor > upTo) upTo = sub.cursor;
    const wanted = [...new Set([...toDeploy.values()].flat())];
    const latest = new Map((await store.latestObjectsUpTo(this.db, wanted, upTo)).map((o) => [o.stackId, o]));
    for (const [sub, stacks] of toDeploy) {
      for (const stackId of stacks) {
        const object = latest.get(stackId);
        if (object && (object.sequenceId <= horizon || object.sequenceId <= sub.cursor)) sub.target(object);
      }
    }
  }
}
