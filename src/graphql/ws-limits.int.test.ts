import net from "node:net";
import { beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createObject, createStack } from "../../test/factories.js";
import { codeOf, overHttp, overWs, transports } from "../../test/graphql-transports.js";
import { metricValue } from "../../test/brokkr-agent.js";
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

/** The broker's gauge of websocket upgrades in one state (unauthenticated, waiting). */
const upgrades = (target: TestBroker, state: string) => metricValue(target, `brokkr_websocket_upgrades{state="${state}"}`);

/** A broker with one place for unauthenticated sockets (and `env`), and the socket holding it. */
async function onePlaceHeld(env: Record<string, string> = {}) {
  const capped = await startTestBroker({ BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS: "1", ...env }, broker.db);
  return { capped, holder: await rawSocket(capped) };
}

/** Waits until `n` upgrades wait for a place. */
const waitingBecomes = (target: TestBroker, n: number) =>
  vi.waitFor(async () => expect(await upgrades(target, "waiting")).toBe(n));

/** The HTTP answer to an upgrade the broker refuses (it fails the test if the upgrade succeeds). */
function refusal(target: TestBroker, path = "/graphql"): Promise<{ status: number; headers: Record<string, unknown> }> {
  const socket = new WebSocket(target.url.replace(/^http/, "ws") + path, "graphql-transport-ws");
  return new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    socket.once("open", () => reject(new Error("the upgrade was accepted")));
    socket.on("error", () => {});
  });
}

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
  it("holds upgrades past the cap of unauthenticated sockets until a place frees, and refuses those past the waiting cap with 503", async () => {
    const capped = await startTestBroker(
      { BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS: "2", BROKKR__BROKER__MAX_WAITING_UPGRADES: "1" },
      broker.db,
    );
    const [a, b] = [await rawSocket(capped), await rawSocket(capped)];
    expect(await upgrades(capped, "unauthenticated")).toBe(2);
    const third = rawSocket(capped);
    await waitingBecomes(capped, 1);
    const fourth = await refusal(capped);
    expect(fourth.status).toBe(503);
    expect(fourth.headers["retry-after"]).toMatch(/^\d+$/);
    expect(await metricValue(capped, 'brokkr_websocket_upgrades_refused_total{reason="full"}')).toBe(1);
    await init(a, gen.pak); // a's place goes to the third, which was waiting unanswered
    const admitted = await third;
    await init(admitted, gen.pak);
    b.close(); // a socket that closes unauthenticated gives its place back too
    await vi.waitFor(async () => expect(await upgrades(capped, "unauthenticated")).toBe(0));
    for (const s of [a, admitted]) s.close();
    await capped.stop();
  });

  it("refuses an upgrade with 503 once it has waited UPGRADE_WAIT_MS, and forgets one whose client left", async () => {
    const { capped, holder } = await onePlaceHeld({ BROKKR__BROKER__UPGRADE_WAIT_MS: "300" });
    expect((await refusal(capped)).status).toBe(503);
    expect(await metricValue(capped, 'brokkr_websocket_upgrades_refused_total{reason="timeout"}')).toBe(1);
    const leaving = new WebSocket(`${capped.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    leaving.on("error", () => {});
    await waitingBecomes(capped, 1);
    leaving.terminate();
    await waitingBecomes(capped, 0);
    expect(await metricValue(capped, 'brokkr_websocket_upgrades_refused_total{reason="timeout"}')).toBe(1);
    holder.close();
    await capped.stop();
  });

  it("drops a waiting upgrade whose client sends more than 16 KB before it is answered", async () => {
    const { capped, holder } = await onePlaceHeld();
    const { port } = new URL(capped.url);
    const raw = net.connect(Number(port), "127.0.0.1");
    const dropped = new Promise<void>((resolve) => raw.once("close", () => resolve()));
    raw.on("error", () => {});
    raw.write(
      "GET /graphql HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
    );
    await waitingBecomes(capped, 1);
    raw.write(Buffer.alloc(17 * 1024));
    await dropped;
    expect(await upgrades(capped, "waiting")).toBe(0);
    holder.close();
    await capped.stop();
  });

  it("shares the one cap with Brokkr's agent websocket: its upgrade waits for a /graphql socket to authenticate", async () => {
    const { capped, holder } = await onePlaceHeld();
    const agentUpgrade = refusal(capped, "/internal/ws/agent");
    await waitingBecomes(capped, 1);
    await init(holder, gen.pak);
    expect((await agentUpgrade).status).toBe(401); // admitted, then refused for its missing key
    holder.close();
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
