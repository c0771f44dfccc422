import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createObject, createStack, targetStack } from "../../test/factories.js";
import { waitUntil } from "../../test/subscriptions.js";

// agentDeployments streams take the direct path (direct-deployments.ts), outside graphql-ws's own
// subscribe handling: what graphql-ws did for them must still hold on the wire.
let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY: "1" });
});
afterAll(() => broker.stop());

type Message = { id?: string; type: string; payload?: unknown };

/** A raw graphql-transport-ws socket that records every message and its close. */
async function socket(pak: string | null) {
  const ws = new WebSocket(`${broker.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
  const messages: Message[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on("close", (code, reason) => r({ code, reason: String(reason) })),
  );
  ws.on("message", (d) => messages.push(JSON.parse(String(d))));
  await new Promise((r) => ws.on("open", r));
  if (pak) {
    ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${pak}` } }));
    await waitUntil(
      () => messages.some((m) => m.type === "connection_ack"),
      () => JSON.stringify(messages),
    );
  }
  const send = (msg: object) => ws.send(JSON.stringify(msg));
  return { ws, messages, closed, send };
}

const QUERY = "subscription { agentDeployments { type stackId deploymentObject { id yamlChecksum } } }";

async function agentOnStack() {
  const gen = await createGenerator(broker);
  const stack = await createStack(broker, gen.pak);
  const agent = await createAgent(broker, { activate: true });
  await targetStack(broker, agent.id, stack.id);
  return { gen, stack, agent };
}

describe("agentDeployments on the direct path", () => {
  it("sends graphql-ws's own next frames, and a client's complete ends the stream and gives its slot back", async () => {
    const { gen, stack, agent } = await agentOnStack();
    const s = await socket(agent.pak);
    s.send({ id: "a", type: "subscribe", payload: { query: QUERY } });
    await waitUntil(
      () => broker.app.delivery.subscriptionCount === 1,
      () => "not subscribed",
    );
    const first = await createObject(broker, gen.pak, stack.id);
    await waitUntil(
      () => s.messages.some((m) => m.id === "a"),
      () => JSON.stringify(s.messages),
    );
    expect(s.messages.find((m) => m.id === "a")).toEqual({
      id: "a",
      type: "next",
      payload: {
        data: {
          agentDeployments: {
            type: "DEPLOY",
            stackId: stack.id,
            deploymentObject: { id: first.id, yamlChecksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
          },
        },
      },
    });
    s.send({ id: "a", type: "complete" });
    await waitUntil(
      () => broker.app.delivery.subscriptionCount === 0,
      () => "still subscribed",
    );
    // The identity may hold one subscription: a second one is served only if the first gave its slot back.
    s.send({ id: "b", type: "subscribe", payload: { query: QUERY } });
    await waitUntil(
      () => s.messages.some((m) => m.id === "b" && m.type === "next"),
      () => JSON.stringify(s.messages),
    );
    const second = await createObject(broker, gen.pak, stack.id);
    await waitUntil(
      () => s.messages.some((m) => m.id === "b" && JSON.stringify(m.payload).includes(second.id)),
      () => JSON.stringify(s.messages),
    );
    expect(s.messages.filter((m) => m.id === "a")).toHaveLength(1);
    expect(s.messages.some((m) => m.type === "complete")).toBe(false);
    s.ws.close();
    await waitUntil(
      () => broker.app.delivery.subscriptionCount === 0,
      () => "a closed socket's stream stayed open",
    );
  });

  it("closes the socket with 4409 for a second subscribe with the id of an open stream", async () => {
    const { agent } = await agentOnStack();
    const s = await socket(agent.pak);
    s.send({ id: "same", type: "subscribe", payload: { query: QUERY } });
    await waitUntil(
      () => broker.app.delivery.subscriptionCount === 1,
      () => "not subscribed",
    );
    s.send({ id: "same", type: "subscribe", payload: { query: QUERY } });
    expect(await s.closed).toEqual({ code: 4409, reason: "Subscriber for same already exists" });
    await waitUntil(
      () => broker.app.delivery.subscriptionCount === 0,
      () => "the stream outlived its socket",
    );
  });

  it("answers a refused stream as graphql-ws does: another agent's stream is FORBIDDEN, then complete", async () => {
    const { agent } = await agentOnStack();
    const other = await createAgent(broker, { activate: true });
    const s = await socket(agent.pak);
    const query = `subscription { agentDeployments(agentId: "${other.id}") { type } }`;
    s.send({ id: "x", type: "subscribe", payload: { query } });
    await waitUntil(
      () => s.messages.some((m) => m.id === "x" && m.type === "complete"),
      () => JSON.stringify(s.messages),
    );
    const next = s.messages.find((m) => m.id === "x" && m.type === "next");
    const payload = next?.payload as { errors?: { extensions: { code: string } }[] } | undefined;
    expect(payload?.errors?.[0]?.extensions.code).toBe("FORBIDDEN");
    expect(broker.app.delivery.subscriptionCount).toBe(0);
  });

  it("closes a socket that sends no connection_init within 10 s with 4408", async () => {
    const s = await socket(null);
    expect(await s.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
  }, 20_000);
});
