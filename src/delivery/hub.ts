import type { Db } from "../db/client.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { moduleLogger } from "../logger.js";
import { AgentSubscription } from "./agent-subscription.js";
import type { NotificationListener } from "./listener.js";
import type { DeliveryMetrics } from "./metrics.js";
import * as store from "./store.js";
import type { AgentEventRow } from "./types.js";

const log = moduleLogger("delivery");
const RANGE_CHUNK = 2000n;
const MIN_HORIZON_INTERVAL_MS = 5;

type ObjectListener = (object: DeploymentObjectRow) => void;
export interface SlowConsumerGuard {
  onOverflow: () => void;
  backedUp?: () => boolean;
}
type AgentEventListener = { agentId: string | null; fn: (event: AgentEventRow) => void };

/**
 * Fan-out for one broker process. Wake-ups come from the LISTEN connection; new objects are
 * read once per wake-up by cursor up to the delivery horizon (commit-order safe, see
 * store.readHorizon) and pushed to every subscription whose agent the stack reaches, from an
 * in-memory index stack → agents kept current by association notifications.
 */
export class DeliveryHub {
  horizon = 0n;
  private readonly byAgent = new Map<string, Set<AgentSubscription>>();
  private readonly byStack = new Map<string, Set<string>>();
  private readonly objectListeners = new Set<ObjectListener>();
  private readonly changeWaiters = new Set<() => void>();
  private readonly agentEventListeners = new Set<AgentEventListener>();
  private pumping = false;
  private pumpAgain = false;
  private associationChain: Promise<void> = Promise.resolve();
  private notifyTimer: NodeJS.Timeout | null = null;
  private lastHorizonRead = 0;
  private safetyTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly listener: NotificationListener,
    private readonly metrics: DeliveryMetrics,
    private readonly queueLimit = 10_000,
  ) {}

  async start(): Promise<void> {
    this.horizon = await store.readHorizon(this.db);
    // A wake-up can be lost (a broker dying between commit and its batched NOTIFY): read by
    // cursor once a second regardless. It costs one horizon read when nothing is new.
    this.safetyTimer = setInterval(() => void this.pump(), 1000);
    this.safetyTimer.unref();
    this.listener.on("notification", (channel, payload) => {
      if (channel === "brokkr_objects") void this.pump();
      else if (channel === "brokkr_associations") this.onAssociationChange(payload);
      else if (channel === "brokkr_agent_events") void this.onAgentEvent(payload);
    });
    this.listener.on("resync", () => {
      void this.pump();
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

  /**
   * This broker committed objects with deferred notification: deliver here at once, and wake the
   * other brokers with one NOTIFY per batch window instead of one per insert.
   */
  objectsCommitted(): void {
    void this.pump();
    if (this.notifyTimer) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = null;
      this.db.$executeRawUnsafe("NOTIFY brokkr_objects").catch((err) => log.warn({ err }, "batched NOTIFY failed"));
    }, 5);
  }

  /** Reads everything committed since the last horizon; coalesces wake-ups that arrive meanwhile. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        // Each horizon read briefly queues new inserters behind it; under a stream of commits,
        // spacing reads a few ms apart batches many objects per read instead of convoying.
        const wait = this.lastHorizonRead + MIN_HORIZON_INTERVAL_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.lastHorizonRead = Date.now();
        const target = await store.readHorizon(this.db);
        while (this.horizon < target) {
          const to = this.horizon + RANGE_CHUNK < target ? this.horizon + RANGE_CHUNK : target;
          const objects = await store.objectsInRange(this.db, this.horizon, to);
          for (const object of objects) this.dispatch(object);
          this.horizon = to;
        }
        this.wakeWaiters();
      } while (this.pumpAgain);
    } catch (err) {
      // 55P03: an inserting transaction is still open (horizon lock timed out); try again soon.
      const busy = String((err as { message?: string }).message).includes("55P03") || /lock timeout/i.test(String(err));
      if (!busy) log.error({ err }, "reading new deployment objects failed; retrying");
      setTimeout(() => void this.pump(), busy ? 20 : 1000).unref();
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(object: DeploymentObjectRow): void {
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
        store.associationsOfAgents(this.db, [sub.agentId]),
        store.agentStates(this.db, [sub.agentId]),
      ]);
      this.install(sub, new Set(pairs.map((p) => p.stack_id)), states.get(sub.agentId)?.active ?? false);
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
    this.wakeWaiters();
  }

  private enqueueAssociations(task: () => Promise<void>): void {
    this.associationChain = this.associationChain.then(task).catch((err) => {
      log.error({ err }, "recomputing associations failed");
    });
  }

  private async refreshStack(stackId: string): Promise<void> {
    const subscribed = [...this.byAgent.keys()];
    const now = new Set(await store.agentsOfStack(this.db, stackId, subscribed));
    const before = this.byStack.get(stackId) ?? new Set<string>();
    const changed = subscribed.filter((a) => now.has(a) !== before.has(a));
    if (changed.length > 0) await this.refreshAgents(changed);
  }

  /** Recomputes the associations of subscribed agents and sends DEPLOY / UNTARGETED for the difference. */
  private async refreshAgents(agentIds: string[]): Promise<void> {
    const ids = agentIds.filter((id) => this.byAgent.has(id));
    if (ids.length === 0) return;
    const [pairs, states] = await Promise.all([store.associationsOfAgents(this.db, ids), store.agentStates(this.db, ids)]);
    const stacksOf = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
    for (const p of pairs) stacksOf.get(p.agent_id)?.add(p.stack_id);
    const toDeploy = new Map<AgentSubscription, string[]>();
    for (const agentId of ids) {
      const next = stacksOf.get(agentId)!;
      const active = states.get(agentId)?.active ?? false;
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
    const wanted = [...new Set([...toDeploy.values()].flat())];
    const latest = await store.latestObjectsUpTo(this.db, wanted, this.horizon);
    const byStack = new Map(latest.map((o) => [o.stackId, o]));
    for (const [sub, stacks] of toDeploy) {
      for (const stackId of stacks) {
        const object = byStack.get(stackId);
        if (object) sub.deploy(object);
      }
    }
  }

  /** Stack watchers (stackDeploymentObjects): called with every new object in commit order. */
  onObject(listener: ObjectListener): () => void {
    this.objectListeners.add(listener);
    return () => this.objectListeners.delete(listener);
  }

  /** Live agent events for UIs; `agentId` null means every agent (admin). */
  onAgentEvents(agentId: string | null, fn: (event: AgentEventRow) => void): () => void {
    const listener = { agentId, fn };
    this.agentEventListeners.add(listener);
    return () => this.agentEventListeners.delete(listener);
  }

  private async onAgentEvent(payload: string): Promise<void> {
    const [agentId, eventId] = payload.split(":");
    const listeners = [...this.agentEventListeners].filter((l) => l.agentId === null || l.agentId === agentId);
    if (listeners.length === 0 || !eventId) return;
    try {
      const event = await this.db.agentEvent.findUnique({ where: { id: eventId } });
      if (event) for (const l of listeners) l.fn(event);
    } catch (err) {
      log.error({ err }, "loading an agent event failed");
    }
  }

  /** Resolves on the next change (new objects or associations) or after `ms`. For the long-poll. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.changeWaiters.add(done);
    });
  }

  private wakeWaiters(): void {
    for (const w of [...this.changeWaiters]) w();
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
    if (this.safetyTimer) clearInterval(this.safetyTimer);
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    for (const subs of [...this.byAgent.values()]) for (const sub of [...subs]) sub.queue.close();
    for (const w of [...this.changeWaiters]) w();
  }
}
