import { beforeAll, describe, expect, it, vi } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { connectBrokkrAgent, metricValue } from "../../test/brokkr-agent.js";
import { createGenerator, createStack, setAgentStatus, targetedAgent } from "../../test/factories.js";
import { wsClient } from "../../test/subscriptions.js";
import { RETENTION_TASK } from "./retention.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({
    BROKKR__BROKER__TELEMETRY_MAX_ROWS_PER_STACK: "5",
    BROKKR__BROKER__TELEMETRY_MAX_LINE_BYTES: "256",
  });
});

const REPORT = `mutation($input: ReportTelemetryInput!) { reportTelemetry(input: $input) { events logs gaps } }`;
const HISTORY = `query($id: ID!, $since: DateTime) { stack(id: $id) {
  telemetryEvents(since: $since) { edges { node { reason message involvedObject { kind name } } } }
  logs(since: $since) { edges { cursor node { pod container line ts } } pageInfo { hasNextPage endCursor } }
  logGaps { edges { node { droppedCount reason } } } } }`;

const now = () => new Date().toISOString();
const logLine = (stackId: string, line: string) => ({
  stackId,
  namespace: "default",
  pod: "web-0",
  container: "web",
  ts: now(),
  line,
});
const event = (stackId: string, reason = "Pulled") => ({
  stackId,
  observedAt: now(),
  reason,
  message: "Successfully pulled image",
  eventType: "Normal",
  involvedObject: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "web-0" },
});

const count = async (table: string, stackId: string) =>
  Number((await broker.db.sql.query(`SELECT count(*) AS n FROM ${table} WHERE stack_id = $1`, [stackId])).rows[0].n);

describe("reportTelemetry", () => {
  it("stores an agent's events and lines for a stack that reaches it, readable by the stack's generator", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const input = { events: [event(stack.id)], logs: [logLine(stack.id, "one"), logLine(stack.id, "two")] };
    expect(ok(await broker.gql(REPORT, { input }, agent.pak)).reportTelemetry).toEqual({ events: 1, logs: 2, gaps: 0 });
    const data = ok(await broker.gql(HISTORY, { id: stack.id }, gen.pak));
    expect(data.stack.telemetryEvents.edges.map((e: { node: { reason: string } }) => e.node.reason)).toEqual(["Pulled"]);
    expect(data.stack.logs.edges.map((e: { node: { line: string } }) => e.node.line)).toEqual(["one", "two"]);
  });

  it("refuses a batch naming a stack that does not reach the agent with FORBIDDEN, and stores none of it", async () => {
    const { agent, stack } = await targetedAgent(broker);
    const other = await targetedAgent(broker);
    const input = { logs: [logLine(stack.id, "mine"), logLine(other.stack.id, "not mine")] };
    expect(errorCode(await broker.gql(REPORT, { input }, agent.pak))).toBe("FORBIDDEN");
    expect(await count("telemetry_logs", stack.id)).toBe(0);
    expect(await count("telemetry_logs", other.stack.id)).toBe(0);
  });

  it("refuses an inactive agent, a generator and the admin with FORBIDDEN", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const input = { logs: [logLine(stack.id, "x")] };
    await setAgentStatus(broker, agent.id, "INACTIVE");
    expect(errorCode(await broker.gql(REPORT, { input }, agent.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(REPORT, { input }, gen.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(REPORT, { input }))).toBe("FORBIDDEN");
    expect(await count("telemetry_logs", stack.id)).toBe(0);
  });

  it("refuses a list longer than the API's list cap with LIST_TOO_LONG and a stack id that is not a UUID with BAD_USER_INPUT", async () => {
    const { agent, stack } = await targetedAgent(broker);
    const many = { logs: Array.from({ length: 51 }, (_, i) => logLine(stack.id, `l${i}`)) };
    const tooMany = await broker.gql(REPORT, { input: many }, agent.pak);
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: "LIST_TOO_LONG", field: "$input.logs" });
    expect(await count("telemetry_logs", stack.id)).toBe(0);
    const badId = await broker.gql(REPORT, { input: { logs: [logLine("nope", "x")] } }, agent.pak);
    expect(badId.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "stackId" });
  });

  it("keeps at most the per-stack cap of rows per batch, counting the rest into a buffer_full gap, and cuts long lines", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const logs = Array.from({ length: 8 }, (_, i) => logLine(stack.id, i === 0 ? "é".repeat(200) : `l${i}`));
    expect(ok(await broker.gql(REPORT, { input: { logs } }, agent.pak)).reportTelemetry).toEqual({ events: 0, logs: 5, gaps: 1 });
    const data = ok(await broker.gql(HISTORY, { id: stack.id }, gen.pak)).stack;
    expect(data.logGaps.edges.map((e: { node: unknown }) => e.node)).toEqual([{ droppedCount: 3, reason: "BUFFER_FULL" }]);
    const first: string = data.logs.edges[0].node.line;
    expect(Buffer.byteLength(first)).toBeLessThanOrEqual(256);
    expect(first).toBe("é".repeat(128));
  });
});

describe("reading telemetry", () => {
  it("refuses another generator and agents with FORBIDDEN, and pages with cursors", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const stranger = await createGenerator(broker);
    ok(
      await broker.gql(
        REPORT,
        { input: { logs: [logLine(stack.id, "a"), logLine(stack.id, "b"), logLine(stack.id, "c")] } },
        agent.pak,
      ),
    );
    const other = await broker.gql(`query($id: ID!) { stack(id: $id) { id } }`, { id: stack.id }, stranger.pak);
    expect(errorCode(other)).toBe("FORBIDDEN");
    const asAgent = await broker.gql(
      `query($id: ID!) { stack(id: $id) { logs { edges { node { line } } } } }`,
      { id: stack.id },
      agent.pak,
    );
    expect(errorCode(asAgent)).toBe("FORBIDDEN");
    const page = `query($id: ID!, $after: String) { stack(id: $id) { logs(first: 2, after: $after) {
      edges { node { line } } pageInfo { hasNextPage endCursor } } } }`;
    const one = ok(await broker.gql(page, { id: stack.id }, gen.pak)).stack.logs;
    expect(one.edges.map((e: { node: { line: string } }) => e.node.line)).toEqual(["a", "b"]);
    expect(one.pageInfo.hasNextPage).toBe(true);
    const two = ok(await broker.gql(page, { id: stack.id, after: one.pageInfo.endCursor }, gen.pak)).stack.logs;
    expect(two.edges.map((e: { node: { line: string } }) => e.node.line)).toEqual(["c"]);
    expect(errorCode(await broker.gql(page, { id: stack.id, after: "garbage" }, gen.pak))).toBe("BAD_USER_INPUT");
  });

  it("deletes rows older than the retention window when the retention task runs", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    ok(
      await broker.gql(
        REPORT,
        { input: { events: [event(stack.id, "Old"), event(stack.id, "New")], logs: [logLine(stack.id, "old")] } },
        agent.pak,
      ),
    );
    await broker.db.sql.query(
      "UPDATE telemetry_events SET created_at = now() - interval '7 hours' WHERE stack_id = $1 AND reason = 'Old'",
      [stack.id],
    );
    await broker.db.sql.query("UPDATE telemetry_logs SET created_at = now() - interval '6 hours 1 minute' WHERE stack_id = $1", [
      stack.id,
    ]);
    const run = await broker.app.scheduler.runNow(RETENTION_TASK);
    expect(run.outcome).toBe("ok");
    expect(run.handled).toBeGreaterThanOrEqual(2);
    expect(await count("telemetry_events", stack.id)).toBe(1);
    expect(await count("telemetry_logs", stack.id)).toBe(0);
    const data = ok(await broker.gql(HISTORY, { id: stack.id }, gen.pak)).stack;
    expect(data.telemetryEvents.edges.map((e: { node: { reason: string } }) => e.node.reason)).toEqual(["New"]);
  });
});

describe("stackTelemetry", () => {
  it("tails a stack's records live for its generator, and refuses another generator", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const stranger = await createGenerator(broker);
    const refused = await new Promise<unknown>((resolve) => {
      wsClient(broker.url, stranger.pak).subscribe(
        { query: `subscription($s: ID!) { stackTelemetry(stackId: $s) { __typename } }`, variables: { s: stack.id } },
        { next: (r) => resolve(r.errors), error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(refused)).toContain("FORBIDDEN");
    const received: Record<string, unknown>[] = [];
    const client = wsClient(broker.url, gen.pak);
    const tails = broker.app.telemetry.feed.tailCount;
    client.subscribe<{ stackTelemetry: Record<string, unknown> }>(
      {
        query: `subscription($s: ID!) { stackTelemetry(stackId: $s) { __typename
          ... on PodLogLine { line } ... on KubeEvent { reason } ... on LogGap { droppedCount gapReason: reason } } }`,
        variables: { s: stack.id },
      },
      { next: (r) => r.data && received.push(r.data.stackTelemetry), error: () => {}, complete: () => {} },
    );
    await vi.waitFor(() => expect(broker.app.telemetry.feed.tailCount).toBe(tails + 1), { timeout: 15_000 });
    const gaps = [{ stackId: stack.id, sinceTs: now(), droppedCount: 4, reason: "RATE_LIMIT" }];
    ok(await broker.gql(REPORT, { input: { events: [event(stack.id)], logs: [logLine(stack.id, "live")], gaps } }, agent.pak));
    await vi.waitFor(() => expect(received).toHaveLength(3), { timeout: 15_000 });
    expect(received).toEqual([
      { __typename: "KubeEvent", reason: "Pulled" },
      { __typename: "PodLogLine", line: "live" },
      { __typename: "LogGap", droppedCount: 4, gapReason: "RATE_LIMIT" },
    ]);
    await client.dispose();
  });
});

describe("Brokkr's agent telemetry frames", () => {
  it("stores k8s_event and pod_log_line frames of a stack that reaches the agent, and drops another stack's", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const foreign = await createStack(broker, (await createGenerator(broker)).pak);
    const socket = await connectBrokkrAgent(broker, agent.pak);
    const dropped = await metricValue(broker, 'brokkr_ws_uplink_dropped_total{reason="forbidden"}');
    const base = { agent_id: agent.id, stack_id: stack.id };
    socket.send("k8s_event", {
      ...base,
      observed_at: now(),
      reason: "BackOff",
      message: "Back-off restarting failed container",
      event_type: "Warning",
      involved_object: { api_version: "v1", kind: "Pod", namespace: "default", name: "web-0" },
    });
    socket.send("pod_log_line", { ...base, namespace: "default", pod: "web-0", container: "web", ts: now(), line: "hello" });
    socket.send("pod_log_line", {
      ...base,
      stack_id: foreign.id,
      namespace: "default",
      pod: "x",
      container: "x",
      ts: now(),
      line: "no",
    });
    socket.send("log_gap", { ...base, since_ts: now(), dropped_count: 7, reason: "rate_limit" });
    await vi.waitFor(async () => expect(await count("telemetry_gaps", stack.id)).toBe(1), { timeout: 15_000 });
    expect(await count("telemetry_events", stack.id)).toBe(1);
    expect(await count("telemetry_logs", stack.id)).toBe(1);
    expect(await count("telemetry_logs", foreign.id)).toBe(0);
    expect(await metricValue(broker, 'brokkr_ws_uplink_dropped_total{reason="forbidden"}')).toBe(dropped + 1);
    const data = ok(await broker.gql(HISTORY, { id: stack.id }, gen.pak)).stack;
    expect(data.logs.edges[0].node).toMatchObject({ pod: "web-0", container: "web", line: "hello" });
    await socket.close();
  });
});
