import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { startTestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { startFaultPostgres } from "../../test/fault-postgres.js";
import { waitUntil, watchLive } from "../../test/subscriptions.js";

const bigYaml = (i: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-${i}\ndata:\n  p: "${"x".repeat(400_000)}"\n`;

/** A raw graphql-transport-ws client whose TCP reading can be paused. */
async function rawSubscriber(url: string, pak: string, count = 1) {
  const socket = new WebSocket(url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
  const messages: { type: string; id?: string; payload?: unknown }[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((r) => socket.once("close", (code) => r(code)));
  await new Promise((r) => socket.once("open", r));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${pak}` } }));
  await waitUntil(
    () => messages.some((m) => m.type === "connection_ack"),
    () => "no connection_ack",
  );
  for (let i = 0; i < count; i++) {
    socket.send(
      JSON.stringify({
        id: String(i),
        type: "subscribe",
        payload: { query: "subscription { agentDeployments { type deploymentObject { id yamlContent } } }" },
      }),
    );
  }
  return { socket, messages, closed };
}

describe("a client that never reads", () => {
  it("is closed with 4413 once its send buffer passes the cap, and other agents keep receiving", async () => {
    const broker = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: String(256 * 1024) });
    const gen = await createGenerator(broker);
    const stack = await createStack(broker, gen.pak);
    const slow = await createAgent(broker, { activate: true });
    const healthy = await createAgent(broker, { activate: true });
    await targetStack(broker, slow.id, stack.id);
    await targetStack(broker, healthy.id, stack.id);
    const stuck = await rawSubscriber(broker.url, slow.pak);
    (stuck.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const watch = await watchLive(broker, healthy);
    let code: number | undefined;
    stuck.closed.then((c) => (code = c));
    for (let i = 0; i < 60 && code === undefined; i++) await createObject(broker, gen.pak, stack.id, bigYaml(i));
    (stuck.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await stuck.closed).toBe(4413);
    const last = await createObject(broker, gen.pak, stack.id, bigYaml(999));
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === last.id), 30_000);
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metrics).toMatch(/brokkr_slow_consumer_disconnects_total 1/);
    expect(broker.app.delivery.subscriptionCount).toBe(1);
    await watch.stop();
  });
});

describe("a flood of subscribe messages", () => {
  it("answers each subscription past the per-connection limit with an error and keeps the rest", async () => {
    const broker = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_CONNECTION: "5" });
    const agent = await createAgent(broker, { activate: true });
    const flood = await rawSubscriber(broker.url, agent.pak, 200);
    await waitUntil(
      () => flood.messages.filter((m) => m.type === "error").length >= 195,
      () => "fewer than 195 errors",
    );
    const errors = flood.messages.filter((m) => m.type === "error");
    expect(errors).toHaveLength(195);
    expect(JSON.stringify(errors[0]!.payload)).toContain("TOO_MANY_SUBSCRIPTIONS");
    // All 200 were answered (195 errors), so no sixth can still be on its way.
    await waitUntil(
      () => broker.app.delivery.subscriptionCount >= 5,
      () => `${broker.app.delivery.subscriptionCount} subscriptions`,
    );
    expect(broker.app.delivery.subscriptionCount).toBe(5);
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    flood.socket.close();
  });
});

describe("a PostgreSQL restart", () => {
  it("reconnects the listener and delivers what was committed after the restart", async () => {
    const pg = await startFaultPostgres();
    const broker = await startTestBroker({}, pg.db);
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    const watch = await watchLive(broker, agent);
    await pg.stop();
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    await pg.start();
    let obj: { id: string } | undefined;
    await waitUntil(
      async () => {
        obj = await createObject(broker, gen.pak, stack.id).catch(() => undefined);
        return obj !== undefined;
      },
      () => "no write succeeded after the restart",
      15_000,
    );
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === obj?.id), 20_000);
    await waitUntil(
      async () => (await fetch(`${broker.url}/readyz`)).status === 200,
      () => "readyz stayed unready",
      15_000,
    );
    await watch.stop();
    await broker.stop();
  });
});
