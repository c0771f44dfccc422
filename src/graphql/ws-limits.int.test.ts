import { beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createObject, createStack } from "../../test/factories.js";
import { codeOf, overHttp, overWs, transports } from "../../test/graphql-transports.js";
import { wsClient } from "../../test/subscriptions.js";

let broker: TestBroker;
let gen: { id: string; pak: string };

beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

/** A raw graphql-transport-ws socket, open. */
async function rawSocket(target: TestBroker): Promise<WebSocket> {
  const socket = new WebSocket(target.url.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return socket;
}

const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));

async function init(socket: WebSocket, pak: string): Promise<void> {
  const acked = new Promise<void>((resolve) =>
    socket.on("message", (m) => JSON.parse(String(m)).type === "connection_ack" && resolve()),
  );
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${pak}` } }));
  await acked;
}

describe("with introspection off", () => {
  let closed: TestBroker;
  beforeAll(async () => {
    closed = await startTestBroker({ BROKKR__BROKER__INTROSPECTION: "false" }, broker.db);
  });

  it.each(transports)("refuses introspection over %s", async (_name, send) => {
    const answer = await send(closed, `{ __schema { types { name } } }`);
    expect(codeOf(answer)).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(answer.data ?? null).toBeNull();
  });

  it.each(transports)("names no schema fields in suggestions over %s", async (_name, send) => {
    const typo = await send(closed, `{ stakcs { edges { cursor } } }`);
    expect(codeOf(typo)).toBe("GRAPHQL_VALIDATION_FAILED");
    const coercion = await send(
      closed,
      `mutation($i: CreateStackInput!) { createStack(input: $i) { stack { id } } }`,
      { i: { nmae: "x" } },
      gen.pak,
    );
    expect(codeOf(coercion)).toBe("BAD_USER_INPUT");
    for (const answer of [typo, coercion]) expect(JSON.stringify(answer.errors)).not.toMatch(/Did you mean|"stacks"|"name"/);
  });

  it("still suggests names where introspection is on (the control)", async () => {
    const answer = await overWs(broker, `{ stakcs { edges { cursor } } }`);
    expect(answer.errors?.[0]?.message).toMatch(/Did you mean "stacks"/);
  });
});

describe("socket caps", () => {
  it("closes sockets past the cap of unauthenticated ones with 1013, and counts authenticated ones out", async () => {
    const capped = await startTestBroker({ BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS: "2" }, broker.db);
    const [a, b] = [await rawSocket(capped), await rawSocket(capped)];
    const third = await rawSocket(capped);
    expect(await closeOf(third)).toBe(1013);
    await init(a, gen.pak);
    const fourth = await rawSocket(capped);
    await init(fourth, gen.pak); // acknowledged: a's place was given back when it authenticated
    for (const s of [a, b, fourth]) s.close();
    await capped.stop();
  });

  it("refuses subscriptions past the cap per identity across sockets, and gives slots back on completion", async () => {
    const capped = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY: "2" }, broker.db);
    const stack = await createStack(capped, gen.pak);
    const query = `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id } }`;
    const clients = [wsClient(capped.url, gen.pak), wsClient(capped.url, gen.pak), wsClient(capped.url, gen.pak)];
    const received: string[][] = [[], [], []];
    const errors: unknown[] = [];
    const subscribe = (i: number) =>
      clients[i]!.subscribe<{ stackDeploymentObjects: { id: string } }>(
        { query, variables: { s: stack.id } },
        {
          next: (r) => received[i]!.push(r.data!.stackDeploymentObjects.id),
          error: (e) => errors.push(e),
          complete: () => {},
        },
      );
    const stopFirst = subscribe(0);
    subscribe(1);
    // A sentinel object that both reach proves both are subscribed before the third tries.
    const sentinel = await createObject(capped, gen.pak, stack.id);
    await vi.waitFor(() => expect(received[0]!.concat(received[1]!)).toEqual([sentinel.id, sentinel.id]));
    subscribe(2);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(JSON.stringify(errors[0])).toContain("TOO_MANY_SUBSCRIPTIONS");
    // Queries do not count against the cap.
    expect((await overWs(capped, `{ me { role } }`, {}, gen.pak)).data).toEqual({ me: { role: "GENERATOR" } });
    stopFirst();
    // A new subscription replays from the start, so once accepted it receives the sentinel.
    const firstOf = () =>
      new Promise<string>((resolve, reject) => {
        const stop = clients[2]!.subscribe<{ stackDeploymentObjects: { id: string } }>(
          { query, variables: { s: stack.id } },
          {
            next: (r) => {
              stop();
              resolve(r.data!.stackDeploymentObjects.id);
            },
            error: reject,
            complete: () => {},
          },
        );
      });
    await vi.waitFor(async () => expect(await firstOf()).toBe(sentinel.id));
    await Promise.all(clients.map((c) => c.dispose()));
    await capped.stop();
  });
});

describe("per-client buffers", () => {
  it("closes a socket that stops reading query results with 4413", async () => {
    const capped = await startTestBroker({ BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: "1024" }, broker.db);
    const stack = await createStack(capped, gen.pak);
    const object = await createObject(
      capped,
      gen.pak,
      stack.id,
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: "${"x".repeat(256 * 1024)}"\n`,
    );
    const socket = await rawSocket(capped);
    await init(socket, gen.pak);
    const closed = closeOf(socket);
    let results = 0;
    socket.on("message", (m) => JSON.parse(String(m)).type === "next" && results++);
    // Stop reading: what the broker sends now queues in the kernel, then in the broker.
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const sent = 200;
    for (let i = 0; i < sent; i++) {
      socket.send(
        JSON.stringify({
          id: String(i),
          type: "subscribe",
          payload: { query: `query($id: ID!) { deploymentObject(id: $id) { yamlContent } }`, variables: { id: object.id } },
        }),
      );
    }
    await vi.waitFor(
      async () => {
        const metrics = await (await fetch(`${capped.url}/metrics`)).text();
        expect(metrics).toMatch(/^brokkr_slow_consumer_disconnects_total [1-9]/m);
      },
      { timeout: 15_000 },
    );
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(4413);
    expect(results).toBeLessThan(sent);
    await capped.stop();
  });
});

describe("errors over websockets", () => {
  it("carries the same codes as HTTP for a parse error and an unknown field", async () => {
    for (const query of [`{ me { role `, `{ nothing }`]) {
      expect(codeOf(await overWs(broker, query))).toBe(codeOf(await overHttp(broker, query)));
    }
  });
});
