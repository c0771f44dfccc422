import { beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import WebSocket from "ws";
import { metricValue } from "../../test/brokkr-agent.js";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack } from "../../test/factories.js";
import { waitUntil } from "../../test/subscriptions.js";

// graphql-ws holds a subscription's whole subscribe message until it ends, so what a client may
// make it hold is bounded: short operation ids, and a capped payload for subscriptions.
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

/** An acknowledged graphql-transport-ws socket that records every message and its close. */
async function socket(pak: string) {
  const ws = new WebSocket(`${broker.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
  const messages: { id?: string; type: string; payload?: unknown }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on("close", (code, reason) => r({ code, reason: String(reason) })),
  );
  ws.on("message", (d) => messages.push(JSON.parse(String(d))));
  await new Promise((r) => ws.on("open", r));
  ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${pak}` } }));
  await waitUntil(
    () => messages.some((m) => m.type === "connection_ack"),
    () => JSON.stringify(messages),
  );
  const subscribe = (id: string, query: string, variables: Record<string, unknown> = {}, extensions?: unknown) =>
    ws.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables, extensions } }));
  return { ws, messages, closed, subscribe };
}

const WATCH = `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id } }`;

describe("what a websocket client makes the broker hold", () => {
  it("closes the socket with 4400 for an operation id over 128 characters, and serves one of 128", async () => {
    const agent = await createAgent(broker, { activate: true });
    const s = await socket(agent.pak);
    const ok = "i".repeat(128);
    s.subscribe(ok, "{ me { role } }");
    await waitUntil(
      () => s.messages.some((m) => m.id === ok && m.type === "next"),
      () => JSON.stringify(s.messages),
    );
    s.subscribe("i".repeat(8_000_000), "{ me { role } }");
    expect(await s.closed).toEqual({ code: 4400, reason: "Operation id longer than 128 characters" });
  });

  it("refuses a subscription whose variables or extensions pass the cap, and still takes queries that carry large variables", async () => {
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const s = await socket(gen.pak);
    const junk = "y".repeat(1_000_000);
    s.subscribe("vars", WATCH, { s: stack.id, junk });
    s.subscribe("ext", WATCH, { s: stack.id }, { junk });
    s.subscribe("query", `query($d: ID!) { createdNothing: stack(id: $d) { id } }`, { d: junk });
    s.subscribe("fine", WATCH, { s: stack.id });
    await waitUntil(
      () => ["vars", "ext", "query"].every((id) => s.messages.some((m) => m.id === id && m.type !== "complete")),
      () => JSON.stringify(s.messages).slice(0, 2000),
    );
    for (const id of ["vars", "ext"]) {
      const m = s.messages.find((x) => x.id === id);
      expect(m).toMatchObject({ type: "error", payload: [{ extensions: { code: "SUBSCRIPTION_TOO_LARGE" } }] });
    }
    expect(s.messages.find((x) => x.id === "query")?.type).toBe("next"); // executed (and refused the bogus id)
    expect(s.messages.some((x) => x.id === "fine")).toBe(false); // open, waiting for objects
    s.ws.close();
  });

  it("forgets a socket that closed while its key was being looked up", async () => {
    const agent = await createAgent(broker, { activate: true });
    broker.app.identities.cache.clear();
    const registered = broker.app.delivery.connections.size;
    // The key's lookup waits on this lock while the client goes away.
    const lock = new pg.Client({ connectionString: broker.db.url });
    await lock.connect();
    await lock.query("BEGIN");
    await lock.query("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE");
    const ws = new WebSocket(`${broker.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    await new Promise((r) => ws.on("open", r));
    ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${agent.pak}` } }));
    const waitingOnLock = async () =>
      Number((await broker.db.sql.query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows[0].n) >
      0;
    await waitUntil(waitingOnLock, () => "the key's lookup never waited on the lock");
    ws.terminate();
    await waitUntil(
      async () => (await metricValue(broker, "brokkr_graphql_ws_sockets")) === 0,
      () => "the broker still holds the socket",
    );
    await lock.query("COMMIT");
    await lock.end();
    await waitUntil(
      () => broker.app.identities.cache.size > 0,
      () => "the key's lookup never finished",
    );
    expect(broker.app.delivery.connections.size).toBe(registered);
  });
});
