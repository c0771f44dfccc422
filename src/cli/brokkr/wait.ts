import { isUuid } from "../../validation.js";
import type { BrokerClient } from "./client.js";
import { type ReachedAgentInfo, type ReportedEvent, Rollout, type RolloutTarget } from "./rollout.js";
import { CliError } from "./session.js";

export interface WaitOptions {
  timeoutMs: number;
  /** Only agents carrying this label. */
  agentLabel?: string;
  failFast?: boolean;
  /** Re-read the whole state this often (the stream carries the news; the re-read is the safety net). */
  resyncMs?: number;
  /** Test hook: runs after subscribing and before the first read. */
  afterSubscribed?: () => Promise<void>;
}

export interface WaitResult {
  ok: boolean;
  timedOut: boolean;
  rollout: Rollout;
  reads: number;
}

const EVENT = "id status message createdAt agent { id } deploymentObject { id sequenceId stack { id } }";
type EventNode = Omit<ReportedEvent, "agentId" | "deploymentObject"> & {
  agent: { id: string };
  deploymentObject: { id: string; sequenceId: string; stack: { id: string } };
};
const toEvent = (e: EventNode): ReportedEvent => ({
  ...e,
  agentId: e.agent.id,
  deploymentObject: {
    id: e.deploymentObject.id,
    sequenceId: e.deploymentObject.sequenceId,
    stackId: e.deploymentObject.stack.id,
  },
});

type ObjectNode = { id: string; sequenceId: string; stack: { id: string; name: string } };

/** An object id, or a stack's id or name (then its latest object). */
export async function resolveTarget(client: BrokerClient, ref: string): Promise<RolloutTarget> {
  const toTarget = (o: ObjectNode) => ({
    objectId: o.id,
    sequenceId: BigInt(o.sequenceId),
    stackId: o.stack.id,
    stackName: o.stack.name,
  });
  if (isUuid(ref)) {
    const { deploymentObject } = await client
      .query<{ deploymentObject: ObjectNode | null }>(
        "query($id: ID!) { deploymentObject(id: $id) { id sequenceId stack { id name } } }",
        { id: ref },
      )
      .catch((err: unknown) => {
        // Not an object id: perhaps a stack's.
        if (err instanceof CliError && err.code === "NOT_FOUND") return { deploymentObject: null };
        throw err;
      });
    if (deploymentObject) return toTarget(deploymentObject);
  }
  type StackNode = { id: string; name: string; latestDeploymentObject: ObjectNode | null };
  const stacks = await client.all<StackNode>(
    "query($after: String) { stacks(first: 100, after: $after) { edges { node { id name latestDeploymentObject { id sequenceId stack { id name } } } } pageInfo { hasNextPage endCursor } } }",
    "stacks",
  );
  const stack = stacks.find((s) => s.id === ref) ?? stacks.find((s) => s.name === ref);
  if (!stack) throw new CliError(`${ref}: no such deployment object or stack`);
  if (!stack.latestDeploymentObject) throw new CliError(`stack ${stack.name} has no deployment object yet`);
  return toTarget(stack.latestDeploymentObject);
}

type ReachedNode = { agent: ReachedAgentInfo; receives: boolean; lastEvent: EventNode | null };

/** Re-reads who the stack reaches (receiving, with the label) and what each last reported. */
async function readState(client: BrokerClient, rollout: Rollout, label: string | undefined): Promise<void> {
  const reached: ReachedNode[] = [];
  let after: string | null = null;
  for (;;) {
    type Page = {
      stack: {
        reachedAgents: { edges: { node: ReachedNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      } | null;
    };
    const page: Page = await client.query<Page>(
      `query($id: ID!, $after: String) { stack(id: $id) { reachedAgents(first: 200, after: $after) {
         edges { node { agent { id name clusterName labels } receives lastEvent { ${EVENT} } } } pageInfo { hasNextPage endCursor } } } }`,
      { id: rollout.target.stackId, after },
    );
    if (!page.stack) throw new CliError(`stack ${rollout.target.stackName} is gone`);
    reached.push(...page.stack.reachedAgents.edges.map((e) => e.node));
    if (!page.stack.reachedAgents.pageInfo.hasNextPage) break;
    after = page.stack.reachedAgents.pageInfo.endCursor;
  }
  const counted = reached.filter((r) => r.receives && (!label || r.agent.labels.includes(label)));
  rollout.setReached(counted.map((r) => r.agent));
  for (const r of counted) if (r.lastEvent) rollout.record(toEvent(r.lastEvent));
}

/**
 * The rollout gate, for the admin or the stack's generator. It subscribes to the stack's agentEventsAdded first and reads the state second, so an
 * event committed between the two is in the read or in the stream; since graphql-ws does not
 * acknowledge a subscription, the state is also re-read every `resyncMs` and once more at the
 * deadline, so a report can be late but never lost.
 */
export async function waitForRollout(client: BrokerClient, target: RolloutTarget, opts: WaitOptions): Promise<WaitResult> {
  const rollout = new Rollout(target);
  let reads = 0;
  let stopped = false;
  let wake = () => {};
  const query = `subscription($stackId: ID) { agentEventsAdded(stackId: $stackId) { ${EVENT} } }`;
  const sub = client.subscribe<{ agentEventsAdded: EventNode }>(query, { stackId: target.stackId }, (data) => {
    rollout.record(toEvent(data.agentEventsAdded));
    wake();
  });
  const failed = sub.done.then(() => {
    if (!stopped) throw new CliError("the broker ended the event stream");
  });
  failed.catch(() => {});
  const guarded = <T>(p: Promise<T>) => Promise.race([p, failed.then(() => p)]);
  const read = async () => {
    await guarded(readState(client, rollout, opts.agentLabel));
    reads++;
  };
  const finished = () => rollout.succeeded || (opts.failFast === true && rollout.settledWithFailure);
  try {
    await guarded(sub.connected);
    await opts.afterSubscribed?.();
    await read();
    const deadline = Date.now() + opts.timeoutMs;
    while (!finished() && Date.now() < deadline) {
      const cause = await guarded(
        new Promise<"event" | "timer">((resolve) => {
          const timer = setTimeout(() => resolve("timer"), Math.min(deadline - Date.now(), opts.resyncMs ?? 5000));
          wake = () => {
            clearTimeout(timer);
            resolve("event");
          };
        }),
      );
      if (cause === "timer") await read();
    }
    const timedOut = !finished();
    return { ok: rollout.succeeded, timedOut, rollout, reads };
  } finally {
    stopped = true;
    sub.stop();
  }
}
