import { Batcher } from "../db/batcher.js";
import type { Db } from "../db/client.js";
import type { FleetFeed } from "../fleet/feed.js";
import { badInput, notFound } from "../errors.js";
import type { DeploymentObjectRow } from "../deployment-objects/store.js";
import { AgentEventFeed } from "./agent-event-feed.js";
import { AgentSubscription, type SinkFactory } from "./agent-subscription.js";
import { AssociationSync } from "./association-sync.js";
import type { SlowConsumerGuard } from "./bounded-queue.js";
import { ChangeWaiters } from "./change-waiters.js";
import { CommitFeed, type CommitHook } from "./commit-feed.js";
import { ConnectionRegistry } from "./connections.js";
import type { NotificationListener } from "./listener.js";
import type { DeliveryMetrics } from "./metrics.js";
import { StackWatchers } from "./stack-watchers.js";
import { SubscriptionIndex } from "./subscription-index.js";
import * as store from "./store.js";

export type { SlowConsumerGuard } from "./bounded-queue.js";

/** Told when an agent opens and closes its own agentDeployments stream (the fleet's connection state). */
export interface PresenceHook {
  opened(agentId: string): void;
  closed(agentId: string): void;
}

/**
 * Fan-out for one broker process. New objects come in commit-safe order from the CommitFeed
 * (read once per wake-up) and are pushed to every subscription whose agent the stack reaches
 * (SubscriptionIndex, kept current by AssociationSync), to stack watchers and to long-poll
 * waiters. This class wires those parts to the notifications and counts what happens.
 */
export class DeliveryHub implements CommitHook {
  private readonly index = new SubscriptionIndex();
  private readonly waiters: ChangeWaiters;
  private readonly associations: AssociationSync;
  private readonly stackWatchers: StackWatchers;
  private readonly feed: CommitFeed;
  /** Live agent events for UIs (agentEventsAdded). */
  readonly agentEvents: AgentEventFeed;
  /** Open websockets by identity, closed when their key is revoked. */
  readonly connections: ConnectionRegistry;

  constructor(
    private readonly db: Db,
    private readonly listener: NotificationListener,
    private readonly metrics: DeliveryMetrics,
    private readonly queueLimit = 10_000,
    maxLongPollsPerAgent = 200,
  ) {
    this.waiters = new ChangeWaiters(maxLongPollsPerAgent);
    this.agentEvents = new AgentEventFeed(db);
    this.connections = new ConnectionRegistry(db);
    this.feed = new CommitFeed(
      db,
      (object) => this.dispatch(object),
      () => this.waiters.batchDone(),
    );
    const horizon = () => this.feed.horizon;
    this.associations = new AssociationSync(db, this.index, horizon);
    this.stackWatchers = new StackWatchers(db, horizon, queueLimit);
  }

  /** One function for every subscription's deliveries. */
  private readonly delivered = (o: DeploymentObjectRow) => this.metrics.delivered(o);

  async start(): Promise<void> {
    await this.feed.start();
    this.listener.on("notification", (channel, payload) => {
      if (channel === "brokkr_objects") void this.feed.pump();
      else if (channel === "brokkr_associations") this.associationChanged(payload);
      else if (channel === "brokkr_agent_events") void this.agentEvents.notified(payload);
      else if (channel === "brokkr_identities") this.connections.identityChanged(payload);
    });
    this.listener.on("resync", () => {
      this.connections.recheckAll();
      void this.feed.pump();
      this.associations.resync();
    });
  }

  get subscriptionCount(): number {
    return this.index.subscriptionCount;
  }

  get connectedAgentCount(): number {
    return this.index.agentCount;
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
    this.waiters.objectDispatched(object.stackId);
    const deploy = (sub: AgentSubscription) => sub.deploy(object);
    for (const agentId of this.index.agentsOfStack(object.stackId)) this.index.forEachSubscription(agentId, deploy);
    this.stackWatchers.dispatch(object);
  }

  private associationChanged(payload: string): void {
    const [kind, id] = payload.split(":");
    if (!kind || !id) return;
    this.associations.changed(kind, id);
    this.waiters.associationChanged(kind, id);
  }

  /** Set once by the app: whom to tell of agents' own streams opening and closing. */
  presence: PresenceHook | undefined;

  /** Set once by the app: the live fleet (fleetChanges, /api/v1/fleet/live). */
  fleet: FleetFeed | undefined;
  /**
   * Before an agent's stream opens: the agent is live (NOT_FOUND otherwise) and `after` is a
   * sequence id already issued (BAD_USER_INPUT otherwise). It reads the sequence, not the
   * delivery horizon (which takes the insert lock a storm of subscribes must not take), and
   * subscribes arriving together share the statement.
   */
  async checkAgentStream(agentId: string, after: bigint): Promise<void> {
    if (after < 0n) throw badInput("after", "after must not be negative");
    const { live, newest } = await this.streamChecks.load(agentId);
    if (!live) throw notFound("agent");
    if (after > newest) throw badInput("after", "after is not a sequence id this broker has issued");
  }

  private readonly streamChecks = new Batcher<string, { live: boolean; newest: bigint }>(async (agentIds) => {
    const { live, newest } = await store.liveAgentsAndNewest(this.db, [...new Set(agentIds)]);
    return agentIds.map((id) => ({ live: live.has(id), newest }));
  });

  /**
   * Opens an agent's stream: replay since `after`, then live. `bySelf`: the agent's own PAK opened
   * it. Events go to `sub.stream`, or to the sink `sink` makes (which guards its own consumer).
   */
  async subscribeAgent(
    agentId: string,
    after: bigint,
    guard: SlowConsumerGuard,
    bySelf = false,
    sink?: SinkFactory,
  ): Promise<AgentSubscription> {
    const presence = bySelf ? this.presence : undefined;
    const sub = new AgentSubscription(agentId, after, {
      sink,
      limit: this.queueLimit,
      onOverflow: guard.onOverflow,
      backedUp: guard.backedUp,
      onClose: () => {
        if (!this.index.remove(sub)) return;
        this.metrics.subscriptionClosed();
        presence?.closed(agentId);
      },
      onSend: this.delivered,
    });
    this.index.add(sub);
    presence?.opened(agentId);
    this.metrics.subscriptionOpened();
    try {
      await this.associations.initialise(sub);
    } catch (err) {
      sub.close();
      throw err;
    }
    return sub;
  }

  /** Opens a stack's stream (stackDeploymentObjects): every object after `after`, replay then live. */
  subscribeStack(stackId: string, after: bigint, guard: SlowConsumerGuard): Promise<AsyncIterableIterator<DeploymentObjectRow>> {
    return this.stackWatchers.subscribe(stackId, after, guard);
  }

  /** For the long-poll: resolves on a change that may concern the agent, or after `ms`. */
  waitForChange(agentId: string, stackIds: ReadonlySet<string>, ms: number, signal?: AbortSignal): Promise<void> {
    return this.waiters.wait(agentId, stackIds, ms, signal);
  }

  /** Test hook: this broker's commit feed stops reading until the returned function is called. */
  simulateLag(): () => void {
    return this.feed.hold();
  }

  /** Counts a subscriber cut off for not reading. */
  slowConsumerClosed(): void {
    this.metrics.slowConsumers.inc();
  }

  stop(): void {
    this.feed.stop();
    for (const sub of this.index.all()) sub.close();
    this.waiters.wakeAll();
  }
}
