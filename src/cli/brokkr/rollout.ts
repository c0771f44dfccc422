/** What the rollout gate tracks, apart from how it learns it (pure: the wait command feeds it). */

export interface RolloutTarget {
  objectId: string;
  sequenceId: bigint;
  stackId: string;
  stackName: string;
}

export interface ReportedEvent {
  id: string;
  status: "SUCCESS" | "FAILURE";
  message: string | null;
  createdAt: string;
  agentId: string;
  deploymentObject: { id: string; sequenceId: string; stackId: string };
}

export interface ReachedAgentInfo {
  id: string;
  name: string;
  clusterName: string;
  labels: string[];
}

export type AgentResult = "SUCCESS" | "FAILED" | "NO ANSWER";

export interface AgentVerdict {
  agentId: string;
  name: string;
  clusterName: string;
  result: AgentResult;
  sequenceId: string | null;
  message: string | null;
}

/**
 * Each agent's newest report for the target object or a newer object of its stack: the newest
 * report wins, so a failure then a successful retry counts as SUCCESS, and a success on the
 * target followed by a failure on a newer object counts as FAILED (that is what runs now).
 */
export class Rollout {
  private reached = new Map<string, ReachedAgentInfo>();
  private readonly latest = new Map<string, ReportedEvent>();

  constructor(readonly target: RolloutTarget) {}

  /** The agents the stack reaches and that receive, as last read (a re-read replaces the set). */
  setReached(agents: ReachedAgentInfo[]): void {
    this.reached = new Map(agents.map((a) => [a.id, a]));
  }

  /** An event from the stream or a read; others' stacks and older objects are ignored. */
  record(event: ReportedEvent): void {
    const o = event.deploymentObject;
    if (o.stackId !== this.target.stackId || BigInt(o.sequenceId) < this.target.sequenceId) return;
    const known = this.latest.get(event.agentId);
    if (known && (known.createdAt > event.createdAt || (known.createdAt === event.createdAt && known.id >= event.id))) return;
    this.latest.set(event.agentId, event);
  }

  verdicts(): AgentVerdict[] {
    return [...this.reached.values()]
      .map((a) => {
        const e = this.latest.get(a.id);
        const result: AgentResult = !e ? "NO ANSWER" : e.status === "SUCCESS" ? "SUCCESS" : "FAILED";
        return {
          agentId: a.id,
          name: a.name,
          clusterName: a.clusterName,
          result,
          sequenceId: e?.deploymentObject.sequenceId ?? null,
          message: e?.message ?? null,
        };
      })
      .sort((x, y) => x.clusterName.localeCompare(y.clusterName) || x.name.localeCompare(y.name));
  }

  get succeeded(): boolean {
    return this.verdicts().every((v) => v.result === "SUCCESS");
  }

  /** Every agent answered and at least one failed (for --fail-fast). */
  get settledWithFailure(): boolean {
    const v = this.verdicts();
    return v.every((x) => x.result !== "NO ANSWER") && v.some((x) => x.result === "FAILED");
  }
}
