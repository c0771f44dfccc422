import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { buildSchema, execute, graphql, parse, subscribe, validate } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { AgentEventReport, DeploymentEvent, HeartbeatReport } from "../broker/types.ts";
import { Channel } from "./channel.ts";

// The broker's real contract, so the agent's operation documents are validated against it.
const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));

export interface FakeBrokerOptions {
  pak: string;
  agentId: string;
  /** Answer 404 on the long-poll endpoint, as a broker without it would. */
  withoutLongPoll?: boolean;
}

/** An in-test stand-in for the broker: GraphQL over HTTP and graphql-ws, and the v1 REST paths. */
export async function startFakeBroker(options: FakeBrokerOptions) {
  const log: DeploymentEvent[] = [];
  const listeners = new Set<() => void>();
  const reports = new Channel<AgentEventReport>();
  const heartbeats = new Channel<HeartbeatReport>();
  const subscriptions = new Channel<{ after: string; authorization: unknown }>();
  const health = new Channel<unknown[]>();
  const live = new Set<(event: DeploymentEvent) => void>();

  /** As the broker does: the latest object per stack newer than the cursor, then live events. */
  async function* stream(cursor: bigint) {
    const incoming = new Channel<DeploymentEvent>();
    const push = (event: DeploymentEvent) => incoming.push(event);
    live.add(push);
    try {
      for (const e of latest().filter((e) => BigInt(e.deploymentObject!.sequenceId) > cursor)) yield { agentDeployments: e };
      for (;;) yield { agentDeployments: await incoming.next() };
    } finally {
      live.delete(push);
    }
  }

  const rootValue = {
    me: () => ({ role: "AGENT", id: options.agentId }),
    targetState: ({ agentId }: { agentId: string }) =>
      agentId === options.agentId ? latest().map((e) => ({ stackId: e.stackId, deploymentObject: e.deploymentObject })) : [],
    reportAgentEvent: ({ input }: { input: AgentEventReport }) => {
      reports.push({ ...input });
      return { event: { id: `event-${reports.all.length}` } };
    },
    heartbeat: ({ input }: { input: HeartbeatReport }) => {
      heartbeats.push({ ...input });
      return { agent: { id: options.agentId } };
    },
  };

  const server = createServer((req, res) => void handleHttp(req, res));
  const wss = new WebSocketServer({ server, path: "/graphql" });
  useServer(
    {
      schema,
      // graphql-ws may load another copy of graphql (ESM vs CJS); use the copy that built the schema.
      parse,
      validate,
      execute,
      subscribe,
      roots: {
        subscription: {
          agentDeployments: (args: { after?: string }) => stream(BigInt(args.after ?? "0")),
          // Diagnostics (agent/diagnostics/) subscribe too; this broker never has a request for them.
          agentDiagnosticRequests: () => idleStream(),
          // The fake has no work orders to push (agent/work-orders): a stream that stays open, empty.
          agentWorkOrders: () => ({
            [Symbol.asyncIterator]() {
              return this;
            },
            next: () => new Promise(() => {}),
            return: async () => ({ done: true, value: undefined }),
          }),
        } as never,
      },
      onConnect: (ctx) => ctx.connectionParams?.authorization === `Bearer ${options.pak}`,
      onSubscribe: (ctx, _id, payload) => {
        if (!payload.query.includes("agentDeployments")) return;
        subscriptions.push({ after: String(payload.variables?.after), authorization: ctx.connectionParams?.authorization });
      },
    },
    wss,
  );

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://broker");
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body === undefined ? "" : JSON.stringify(body));
    };
    if (url.pathname === "/readyz") return send(200, { status: "ok" });
    if (req.headers.authorization !== `Bearer ${options.pak}`) return send(401, { code: "UNAUTHENTICATED", message: "bad PAK" });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    if (url.pathname === "/graphql") {
      return send(200, await graphql({ schema, source: body.query, variableValues: body.variables, rootValue }));
    }
    const agentPath = `/api/v1/agents/${options.agentId}`;
    if (url.pathname === "/api/v1/auth/pak") return send(200, { admin: false, agent: options.agentId, generator: null });
    if (url.pathname === `${agentPath}/events`) {
      reports.push({
        deploymentObjectId: body.deployment_object_id,
        status: body.status,
        message: body.message,
        eventType: body.event_type,
      });
      return send(200, { id: "event" });
    }
    if (url.pathname === `${agentPath}/heartbeat`) {
      heartbeats.push({ k8sReachable: body.k8s_reachable, k8sApiLatencyMs: body.k8s_api_latency_ms });
      return send(204);
    }
    if (url.pathname === `${agentPath}/diagnostics/pending`) return send(200, []);
    if (url.pathname === `${agentPath}/target-state`) return send(200, latest().map(snake));
    if (url.pathname === `${agentPath}/health-status` && req.method === "PATCH") {
      health.push(body.deployment_objects);
      return send(200);
    }
    if (url.pathname === `${agentPath}/deployment-objects` && !options.withoutLongPoll) {
      return send(200, await longPoll(BigInt(url.searchParams.get("after") ?? "0")));
    }
    send(404, { code: "NOT_FOUND", message: "not found" });
  }

  /**
   * As the broker's long-poll: each associated stack's latest object newer than the cursor, and
   * `stack_ids`, the associated stacks now. An untargeted stack only drops out of `stack_ids`.
   * The 200 ms stand for the broker's `wait`, shortened for tests.
   */
  async function longPoll(cursor: bigint) {
    const newer = () => latest().filter((e) => BigInt(e.deploymentObject!.sequenceId) > cursor);
    if (newer().length === 0) {
      await new Promise<void>((resolve) => {
        listeners.add(resolve);
        setTimeout(resolve, 200);
      });
    }
    const events = newer();
    const last = events.at(-1);
    return {
      events: events.map((e) => ({ type: e.type, stack_id: e.stackId, deployment_object: snake(e) })),
      stack_ids: latest().map((e) => e.stackId),
      cursor: last ? last.deploymentObject!.sequenceId : String(cursor),
    };
  }

  /** Each targeted stack's latest DEPLOY, in sequence order. */
  function latest(): DeploymentEvent[] {
    const byStack = new Map<string, DeploymentEvent>();
    for (const e of log) {
      if (e.type === "DEPLOY") byStack.set(e.stackId, e);
      else byStack.delete(e.stackId);
    }
    return [...byStack.values()].sort((a, b) =>
      Number(BigInt(a.deploymentObject!.sequenceId) - BigInt(b.deploymentObject!.sequenceId)),
    );
  }

  function snake(e: DeploymentEvent) {
    const o = e.deploymentObject!;
    return {
      id: o.id,
      sequence_id: o.sequenceId,
      stack_id: e.stackId,
      yaml_content: o.yamlContent,
      yaml_checksum: o.yamlChecksum,
      is_deletion_marker: o.isDeletionMarker,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reports,
    heartbeats,
    /** Each PATCH health-status body's `deployment_objects`. */
    health,
    subscriptions,
    publish(event: DeploymentEvent) {
      log.push(event);
      for (const push of live) push(event);
      const waiting = [...listeners];
      listeners.clear();
      for (const wake of waiting) wake();
    },
    /** Cuts every websocket, as a broker restart or a network blip would. */
    dropConnections() {
      for (const client of wss.clients) client.terminate();
    },
    async stop() {
      for (const client of wss.clients) client.terminate();
      for (const wake of listeners) wake();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeBroker = Awaited<ReturnType<typeof startFakeBroker>>;

/** A subscription stream that yields nothing until the client ends it. */
function idleStream(): AsyncIterableIterator<never> {
  let end: ((r: IteratorResult<never>) => void) | undefined;
  const done = { value: undefined, done: true } as const;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => new Promise((resolve) => (end = resolve)),
    return: () => {
      end?.(done);
      return Promise.resolve(done);
    },
  };
}
