import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import {
  CONFIGMAP_YAML,
  createAgent,
  createGenerator,
  createObject,
  createStack,
  registerAgent,
  sentinelStack,
  targetedAgent,
  targetStack,
} from "../../test/factories.js";
import {
  deliveriesSent,
  dispatched,
  nextOpened,
  waitUntil,
  watchDeployments,
  watchLive,
  wsClient,
} from "../../test/subscriptions.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

const fixture = () => targetedAgent(broker);

describe("agentDeployments", () => {
  it("replays the latest object per targeted stack, then streams new ones live", async () => {
    const { gen, agent, stack } = await fixture();
    await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("v1"));
    const v2 = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("v2"));
    const watch = watchDeployments(broker.url, agent.pak);
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]).toMatchObject({ type: "DEPLOY", stackId: stack.id, deploymentObject: { id: v2.id } });
    const v3 = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("v3"));
    await watch.until((e) => e.length === 2);
    expect(watch.events[1]!.deploymentObject!.id).toBe(v3.id);
    await watch.stop();
  });

  it("replays nothing older than the cursor", async () => {
    const { gen, agent, stack } = await fixture();
    const v1 = await createObject(broker, gen.pak, stack.id);
    const watch = watchDeployments(broker.url, agent.pak, v1.sequenceId);
    const v2 = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("after-cursor"));
    // v2 is its own sentinel: a replayed v1 would have come before it.
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === v2.id));
    expect(watch.events.map((e) => e.deploymentObject?.id)).toEqual([v2.id]);
    await watch.stop();
  });

  it("sends the latest object when a stack becomes targeted, even below the cursor, and UNTARGETED when untargeted", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const stack = await createStack(broker, gen.pak);
    const old = await createObject(broker, gen.pak, stack.id);
    const other = await createStack(broker, gen.pak);
    const newer = await createObject(broker, gen.pak, other.id);
    const watch = await watchLive(broker, agent, newer.sequenceId);
    await targetStack(broker, agent.id, stack.id);
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]).toMatchObject({ type: "DEPLOY", stackId: stack.id, deploymentObject: { id: old.id } });
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { untargetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    await watch.until((e) => e.length === 2);
    expect(watch.events[1]).toMatchObject({ type: "UNTARGETED", stackId: stack.id, deploymentObject: null });
    await watch.stop();
  });

  it("sends UNTARGETED when a label stops matching, on deregistration and on a hard delete", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, labels: ["blue"] });
    await registerAgent(broker, agent.id, gen.id);
    const byLabel = await createStack(broker, gen.pak, { labels: ["blue"] });
    const byLabel2 = await createStack(broker, gen.pak, { labels: ["blue"] });
    const explicit = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, explicit.id);
    for (const s of [byLabel, byLabel2, explicit]) await createObject(broker, gen.pak, s.id);
    const watch = watchDeployments(broker.url, agent.pak);
    await watch.until((e) => e.length === 3);
    ok(
      await broker.gql(
        `mutation($s: ID!) { removeStackLabel(input: { stackId: $s, label: "blue" }) { stack { id } } }`,
        { s: byLabel.id },
        gen.pak,
      ),
    );
    await watch.until((e) => e.some((x) => x.type === "UNTARGETED" && x.stackId === byLabel.id));
    ok(
      await broker.gql(
        `mutation($a: ID!, $g: ID!) { deregisterAgent(input: { agentId: $a, generatorId: $g }) { agent { id } } }`,
        { a: agent.id, g: gen.id },
      ),
    );
    await watch.until((e) => e.some((x) => x.type === "UNTARGETED" && x.stackId === byLabel2.id));
    ok(
      await broker.gql(
        `mutation($id: ID!) { deleteStack(input: { id: $id, hard: true }) { deletedId } }`,
        { id: explicit.id },
        gen.pak,
      ),
    );
    await watch.until((e) => e.some((x) => x.type === "UNTARGETED" && x.stackId === explicit.id));
    expect(watch.events.filter((x) => x.type === "UNTARGETED")).toHaveLength(3);
    await watch.stop();
  });

  it("reaches agents by label only for generators they are registered with", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true, labels: ["edge"] });
    const stack = await createStack(broker, gen.pak, { labels: ["edge"] });
    const sentinel = await sentinelStack(broker, gen, agent.id);
    const watch = await watchLive(broker, agent);
    await createObject(broker, gen.pak, stack.id);
    const mark = await sentinel.commit();
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === mark.id));
    expect(watch.events.map((e) => e.stackId)).toEqual([sentinel.stackId]);
    await registerAgent(broker, agent.id, gen.id);
    await watch.until((e) => e.length === 2);
    expect(watch.events[1]!.stackId).toBe(stack.id);
    await watch.stop();
  });

  it("delivers the deletion marker of a soft-deleted stack", async () => {
    const { gen, agent, stack } = await fixture();
    await createObject(broker, gen.pak, stack.id);
    const watch = watchDeployments(broker.url, agent.pak);
    await watch.until((e) => e.length === 1);
    ok(await broker.gql(`mutation($id: ID!) { deleteStack(input: { id: $id }) { deletedId } }`, { id: stack.id }, gen.pak));
    await watch.until((e) => e.length === 2);
    expect(watch.events[1]!.deploymentObject!.isDeletionMarker).toBe(true);
    await watch.stop();
  });

  it("sends nothing to an inactive agent until an admin activates it", async () => {
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker);
    const stack = await createStack(broker, gen.pak);
    await targetStack(broker, agent.id, stack.id);
    await createObject(broker, gen.pak, stack.id);
    const sentBefore = await deliveriesSent(broker);
    const watch = await watchLive(broker, agent); // its replay, if any, is queued by now
    const obj = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("while-inactive"));
    // An inactive agent's stream carries nothing, so no sentinel can pass through it: once the
    // broker has dispatched obj, the broker's own count says nothing was handed to any stream.
    await dispatched(broker, obj.sequenceId);
    expect(await deliveriesSent(broker)).toBe(sentBefore);
    expect(watch.events).toHaveLength(0);
    ok(
      await broker.gql(`mutation($id: ID!) { updateAgent(input: { id: $id, status: ACTIVE }) { agent { id } } }`, {
        id: agent.id,
      }),
    );
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]!.deploymentObject!.id).toBe(obj.id);
    await watch.stop();
  });

  it("closes with 4401 for a wrong PAK and refuses another agent's stream", async () => {
    const { agent } = await fixture();
    const other = await createAgent(broker, { activate: true });
    const bad = watchDeployments(broker.url, "brokkr_BRaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    expect(await bad.closed).toMatchObject({ code: 4401 });
    const foreign = watchDeployments(broker.url, agent.pak, "0", other.id);
    const result = (await foreign.closed) as { error: { extensions?: { code?: string } }[] };
    expect(result.error[0]!.extensions!.code).toBe("FORBIDDEN");
    await foreign.stop();
  });

  it("refuses a cursor ahead of the newest object and a non-numeric cursor", async () => {
    const { agent } = await fixture();
    const ahead = watchDeployments(broker.url, agent.pak, "999999999");
    const r1 = (await ahead.closed) as { error: { extensions?: { code?: string } }[] };
    expect(r1.error[0]!.extensions!.code).toBe("BAD_USER_INPUT");
    const junk = watchDeployments(broker.url, agent.pak, "abc");
    const r2 = (await junk.closed) as { error: { extensions?: { code?: string } }[] };
    expect(JSON.stringify(r2.error)).toMatch(/BigInt/);
    await ahead.stop();
    await junk.stop();
  });

  it("answers NOT_FOUND for an unknown agentId and FORBIDDEN for a generator", async () => {
    const gen = await createGenerator(broker);
    const unknown = watchDeployments(broker.url, broker.adminPak, "0", "00000000-0000-4000-8000-000000000000");
    const r1 = (await unknown.closed) as { error: { extensions?: { code?: string } }[] };
    expect(r1.error[0]!.extensions!.code).toBe("NOT_FOUND");
    const byGenerator = watchDeployments(broker.url, gen.pak);
    const r2 = (await byGenerator.closed) as { error: { extensions?: { code?: string } }[] };
    expect(r2.error[0]!.extensions!.code).toBe("FORBIDDEN");
    await unknown.stop();
    await byGenerator.stop();
  });

  it("lets the admin watch any agent", async () => {
    const { gen, agent, stack } = await fixture();
    const obj = await createObject(broker, gen.pak, stack.id);
    const watch = watchDeployments(broker.url, broker.adminPak, "0", agent.id);
    await watch.until((e) => e.length === 1);
    expect(watch.events[0]!.deploymentObject!.id).toBe(obj.id);
    await watch.stop();
  });

  it("resumes after a listener connection loss without losing objects", async () => {
    const { gen, agent, stack } = await fixture();
    const watch = await watchLive(broker, agent);
    broker.app.listener.simulateConnectionLoss();
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(503);
    // Written by plain SQL while the listener is away: its NOTIFY is lost; the cursor read is not.
    const { rows } = await broker.db.sql.query(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
       VALUES ($1, $2, 'a: 1', encode(sha256('a: 1'), 'hex')) RETURNING id`,
      [stack.id, gen.id],
    );
    await watch.until((e) => e.some((x) => x.deploymentObject?.id === rows[0].id));
    await waitUntil(
      () => broker.app.listener.reconnects > 0,
      () => "the listener did not reconnect",
    );
    expect((await fetch(`${broker.url}/readyz`)).status).toBe(200);
    await watch.stop();
  });
});

describe("websocket protocol", () => {
  it("rejects a subscription sent before connection_init", async () => {
    const WebSocket = (await import("ws")).default;
    const socket = new WebSocket(broker.url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
    await new Promise((r) => socket.once("open", r));
    const closed = new Promise<number>((r) => socket.once("close", (code) => r(code)));
    socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { agentEventsAdded { id } }" } }));
    expect(await closed).toBe(4401);
  });

  it("answers an unauthenticated client with 4401 instead of hanging", async () => {
    const client = wsClient(broker.url, null);
    const result = await new Promise<unknown>((resolve) => {
      client.on("closed", (e) => resolve((e as { code: number }).code));
      client.subscribe(
        { query: "subscription { agentEventsAdded { id } }" },
        { next: () => {}, error: () => {}, complete: () => {} },
      );
    });
    expect(result).toBe(4401);
    await client.dispose();
  });

  it("applies the depth limit to subscriptions too", async () => {
    const { agent } = await fixture();
    const client = wsClient(broker.url, agent.pak);
    const deep = `subscription { agentDeployments { deploymentObject { stack { generator { stacks { edges { node {
      latestDeploymentObject { stack { generator { stacks { edges { node { id } } } } } } } } } } } } } }`;
    const err = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: deep }, { next: (r) => resolve(r.errors), error: resolve, complete: () => {} });
    });
    expect(JSON.stringify(err)).toMatch(/exceeds maximum operation depth/);
    await client.dispose();
  });

  it("rejects UI subscriptions for callers without the right", async () => {
    const { gen, stack } = await fixture();
    const other = await createGenerator(broker);
    const client = wsClient(broker.url, other.pak);
    const err = await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id } }`, variables: { s: stack.id } },
        { next: (r) => resolve(r.errors), error: resolve, complete: () => {} },
      );
    });
    expect(JSON.stringify(err)).toMatch(/FORBIDDEN/);
    await client.dispose();
    expect(gen.id).toBeTruthy();
  });
});

describe("stackDeploymentObjects and agentEventsAdded", () => {
  it("streams every object of a stack in order to its generator", async () => {
    const { gen, stack } = await fixture();
    const first = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("a"));
    const client = wsClient(broker.url, gen.pak);
    const seen: string[] = [];
    client.subscribe<{ stackDeploymentObjects: { id: string } }>(
      { query: `subscription($s: ID!) { stackDeploymentObjects(stackId: $s) { id sequenceId } }`, variables: { s: stack.id } },
      { next: (r) => r.data && seen.push(r.data.stackDeploymentObjects.id), error: () => {}, complete: () => {} },
    );
    // The replayed first object proves the stream is open: the second then comes live.
    await waitUntil(
      () => seen.length === 1,
      () => `seen ${seen}`,
    );
    const second = await createObject(broker, gen.pak, stack.id, CONFIGMAP_YAML("b"));
    await waitUntil(
      () => seen.length === 2,
      () => `seen ${seen}`,
    );
    expect(seen).toEqual([first.id, second.id]);
    await client.dispose();
  });

  it("streams reported agent events to the admin", async () => {
    const { gen, agent, stack } = await fixture();
    const obj = await createObject(broker, gen.pak, stack.id);
    const client = wsClient(broker.url, broker.adminPak);
    const seen: string[] = [];
    const subscribed = nextOpened(broker, `agentEventsAdded:${agent.id}`);
    client.subscribe<{ agentEventsAdded: { status: string } }>(
      {
        query: `subscription($a: ID) { agentEventsAdded(agentId: $a) { status deploymentObject { id } } }`,
        variables: { a: agent.id },
      },
      { next: (r) => r.data && seen.push(r.data.agentEventsAdded.status), error: () => {}, complete: () => {} },
    );
    await subscribed;
    const res = await broker.gql(
      `mutation($o: ID!) { reportAgentEvent(input: { deploymentObjectId: $o, status: SUCCESS }) { event { id } } }`,
      { o: obj.id },
      agent.pak,
    );
    expect(errorCode(res)).toBeUndefined();
    await waitUntil(
      () => seen.length > 0,
      () => "no agent event arrived",
    );
    expect(seen).toEqual(["SUCCESS"]);
    await client.dispose();
  });
});
