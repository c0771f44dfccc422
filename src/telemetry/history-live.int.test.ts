import { beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { metricValue } from "../../test/brokkr-agent.js";
import { createGenerator, targetedAgent } from "../../test/factories.js";
import { specClient } from "../../test/openapi/spec.js";
import { uplinkFrame } from "../brokkr-ws/wire.js";

/*
 * Brokkr's telemetry history (GET /stacks/{id}/events|logs, validated against the spec) and
 * its live tail (/api/v1/stacks/{id}/live): who may read, the query's clamping, the frames.
 */
let broker: TestBroker;
const exercised = new Set<string>();
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: "65536" });
});

const REPORT = `mutation($input: ReportTelemetryInput!) { reportTelemetry(input: $input) { logs } }`;
const line = (stackId: string, text: string) => ({
  stackId,
  namespace: "default",
  pod: "web-0",
  container: "web",
  ts: new Date().toISOString(),
  line: text,
});
const report = async (pak: string, stackId: string, ...texts: string[]) =>
  ok(await broker.gql(REPORT, { input: { logs: texts.map((t) => line(stackId, t)) } }, pak));
const as = (pak: string) => specClient(broker.url, exercised, pak);
const logsOf = (pak: string, id: string, query: { since?: string; limit?: number } = {}) =>
  as(pak).GET("/stacks/{id}/logs", { params: { path: { id }, query } });

describe("GET /stacks/{id}/logs and /events", () => {
  it("answers the admin and the stack's generator, and refuses another generator and agents with 403", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    await report(agent.pak, stack.id, "a");
    expect((await logsOf(gen.pak, stack.id)).data?.lines.map((l) => l.line)).toEqual(["a"]);
    expect((await logsOf(broker.adminPak, stack.id)).data?.lines).toHaveLength(1);
    const stranger = await createGenerator(broker);
    expect((await logsOf(stranger.pak, stack.id)).response.status).toBe(403);
    const events = await as(agent.pak).GET("/stacks/{id}/events", { params: { path: { id: stack.id } } });
    expect(events.response.status).toBe(403);
  });

  it("answers 404 to the admin and 403 to a generator for a stack that does not exist", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    expect((await logsOf(broker.adminPak, missing)).response.status).toBe(404);
    expect((await logsOf((await createGenerator(broker)).pak, missing)).response.status).toBe(403);
  });

  it("clamps since to the retention window and limit to 1..5000, and reports the oldest retained row", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const empty = (await logsOf(gen.pak, stack.id)).data?.retention;
    expect(empty).toMatchObject({
      retention_ceiling_seconds: 21600,
      effective_retention_seconds: 21600,
      oldest_available_ts: null,
    });
    await report(agent.pak, stack.id, "old", "new1", "new2");
    // Older than the window but not yet purged: never served, whatever `since` says.
    await broker.db.sql.query(
      "UPDATE telemetry_logs SET created_at = now() - interval '7 hours' WHERE stack_id = $1 AND line = 'old'",
      [stack.id],
    );
    const all = await logsOf(gen.pak, stack.id, { since: "2000-01-01T00:00:00Z" });
    expect(all.data?.lines.map((l) => l.line)).toEqual(["new1", "new2"]);
    expect(all.data?.retention.oldest_available_ts).toBe(all.data?.lines[0]?.created_at);
    expect((await logsOf(gen.pak, stack.id, { limit: 1 })).data?.lines.map((l) => l.line)).toEqual(["new1"]);
    expect((await logsOf(gen.pak, stack.id, { limit: 0 })).data?.lines).toHaveLength(1);
    expect((await logsOf(gen.pak, stack.id, { limit: 99_999 })).data?.lines).toHaveLength(2);
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await logsOf(gen.pak, stack.id, { since: later })).data?.lines).toEqual([]);
  });

  it("refuses a since that is not a time and a limit that is not an integer with 400", async () => {
    const { gen, stack } = await targetedAgent(broker);
    for (const query of ["since=yesterday", "limit=ten", "limit=1.5"]) {
      const res = await fetch(`${broker.url}/api/v1/stacks/${stack.id}/logs?${query}`, { headers: { authorization: gen.pak } });
      expect(res.status, query).toBe(400);
      expect(await res.json()).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
  });
});

const liveUrl = (stackId: string) => `${broker.url.replace(/^http/, "ws")}/api/v1/stacks/${stackId}/live`;

/** Opens a live tail; resolves with the socket once open, or rejects with the refused status. */
function openTail(stackId: string, opts: { protocols?: string[]; authorization?: string }) {
  const ws = new WebSocket(liveUrl(stackId), opts.protocols ?? [], {
    headers: opts.authorization ? { authorization: opts.authorization } : {},
  });
  const frames: unknown[] = [];
  ws.on("message", (data) => frames.push(uplinkFrame.parse(JSON.parse(data.toString()))));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  return new Promise<{ ws: WebSocket; frames: unknown[]; closed: Promise<number> }>((resolve, reject) => {
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error("refused"), { status: res.statusCode })));
    ws.once("error", reject);
    ws.once("open", () => resolve({ ws, frames, closed }));
  });
}

const refusal = (stackId: string, opts: { protocols?: string[]; authorization?: string }) =>
  openTail(stackId, opts).then(
    ({ ws }) => {
      ws.close();
      return 0;
    },
    (err: { status?: number }) => err.status,
  );

describe("/api/v1/stacks/{id}/live", () => {
  it("tails a stack for its generator with Brokkr's frames, taking the PAK as a subprotocol and echoing only brokkr.v1", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const tails = broker.app.telemetry.feed.tailCount;
    const tail = await openTail(stack.id, { protocols: [`brokkr.pak.${gen.pak}`, "brokkr.v1"] });
    expect(tail.ws.protocol).toBe("brokkr.v1");
    await vi.waitFor(() => expect(broker.app.telemetry.feed.tailCount).toBe(tails + 1));
    await report(agent.pak, stack.id, "hello");
    await vi.waitFor(() => expect(tail.frames).toHaveLength(1));
    expect(tail.frames[0]).toMatchObject({
      type: "pod_log_line",
      body: { agent_id: agent.id, stack_id: stack.id, line: "hello" },
    });
    tail.ws.close();
  });

  it("accepts the admin's key in the Authorization header", async () => {
    const { stack } = await targetedAgent(broker);
    const tail = await openTail(stack.id, { authorization: `Bearer ${broker.adminPak}` });
    tail.ws.close();
  });

  it("refuses no key and a bad key with 401, an agent and another generator with 403, an unknown stack with 404", async () => {
    const { agent, stack } = await targetedAgent(broker);
    const stranger = await createGenerator(broker);
    expect(await refusal(stack.id, {})).toBe(401);
    expect(await refusal(stack.id, { protocols: ["brokkr.pak.brokkr_BRnotakey_xxxxxxxx", "brokkr.v1"] })).toBe(401);
    expect(await refusal(stack.id, { authorization: agent.pak })).toBe(403);
    expect(await refusal(stack.id, { authorization: stranger.pak })).toBe(403);
    expect(await refusal("00000000-0000-4000-8000-000000000000", { authorization: broker.adminPak })).toBe(404);
    expect(await refusal("not-a-uuid", { authorization: broker.adminPak })).toBe(400);
  });

  it("closes a tail that stops reading with 4413 instead of buffering without end", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const tails = broker.app.telemetry.feed.tailCount;
    const tail = await openTail(stack.id, { authorization: gen.pak });
    await vi.waitFor(() => expect(broker.app.telemetry.feed.tailCount).toBe(tails + 1));
    const before = await metricValue(broker, "brokkr_slow_consumer_disconnects_total");
    (tail.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // One batch of 3000 lines of 4 KiB (12 MiB) written as an agent's would be, and one notify.
    await broker.db.sql.query(
      `WITH b AS (SELECT gen_random_uuid() AS id),
            ins AS (INSERT INTO telemetry_logs (batch_id, agent_id, stack_id, namespace, pod, container, ts, line)
                    SELECT b.id, $1, $2, 'default', 'web-0', 'web', now(), repeat('x', 4096) FROM b, generate_series(1, 3000))
       SELECT pg_notify('brokkr_telemetry', id::text) FROM b`,
      [agent.id, stack.id],
    );
    await vi.waitFor(async () => expect(await metricValue(broker, "brokkr_slow_consumer_disconnects_total")).toBe(before + 1), {
      timeout: 20_000,
    });
    (tail.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await tail.closed).toBe(4413);
    expect(tail.frames.length).toBeLessThan(3000);
  });
});
