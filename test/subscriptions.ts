import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface DeploymentEvent {
  type: "DEPLOY" | "UNTARGETED";
  stackId: string;
  deploymentObject: { id: string; sequenceId: string; isDeletionMarker: boolean; yamlChecksum: string } | null;
}

const AGENT_DEPLOYMENTS = `subscription($after: BigInt, $agentId: ID) {
  agentDeployments(after: $after, agentId: $agentId) {
    type stackId deploymentObject { id sequenceId isDeletionMarker yamlChecksum }
  }
}`;

export interface Watch {
  events: DeploymentEvent[];
  closed: Promise<{ code: number; reason: string } | { error: unknown }>;
  /** Resolves once `predicate` holds over the received events (polls the array). */
  until(predicate: (events: DeploymentEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function wsClient(brokerUrl: string, pak: string | null, opts: { retry?: boolean } = {}): Client {
  return createClient({
    url: `${brokerUrl.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: pak ? { authorization: `Bearer ${pak}` } : {},
    retryAttempts: opts.retry ? 5 : 0,
    lazy: true,
  });
}

/** Subscribes to agentDeployments and collects everything it receives. */
export function watchDeployments(brokerUrl: string, pak: string, after = "0", agentId?: string): Watch {
  const client = wsClient(brokerUrl, pak);
  const events: DeploymentEvent[] = [];
  let settle!: (v: { code: number; reason: string } | { error: unknown }) => void;
  const closed = new Promise<{ code: number; reason: string } | { error: unknown }>((r) => (settle = r));
  client.on("closed", (e) => {
    const ev = e as { code: number; reason: string };
    settle({ code: ev.code, reason: ev.reason });
  });
  const unsubscribe = client.subscribe<{ agentDeployments: DeploymentEvent }>(
    { query: AGENT_DEPLOYMENTS, variables: { after, agentId } },
    {
      next: (r) => {
        if (r.data) events.push(r.data.agentDeployments);
        else settle({ error: r.errors });
      },
      error: (error) => settle({ error }),
      complete: () => {},
    },
  );
  return {
    events,
    closed,
    async until(predicate, timeoutMs = 15_000) {
      const start = Date.now();
      while (!predicate(events)) {
        if (Date.now() - start > timeoutMs) throw new Error(`condition not met; received ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      unsubscribe();
      await client.dispose();
    },
  };
}
