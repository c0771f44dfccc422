import { beforeAll, describe, expect, it, vi } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { connectBrokkrAgent, metricValue, refusedWith } from "../../test/brokkr-agent.js";
import { countBrokerStatements } from "../../test/count-statements.js";
import { createGenerator, createObject, createStack, setAgentStatus, targetedAgent } from "../../test/factories.js";
import { mintPak } from "../auth/pak.js";
import { CLOSE_REPLACED } from "./server.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker({
    BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: "1024",
    BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES: "4096",
  });
});

const nothingSetUp = () => {
  expect(broker.app.agentSockets.size).toBe(0);
  expect(broker.app.delivery.connections.size).toBe(0);
  expect(broker.app.delivery.subscriptionCount).toBe(0);
};

describe("authentication at the upgrade, as Brokkr's", () => {
  it("refuses a missing or malformed key with 401 before any database work", async () => {
    const { result, statements } = await countBrokerStatements(() =>
      Promise.all([null, "", "brokkr_nope", "Bearer brokkr_BR3rVsDa", "Basic dXNlcjpwYXNz"].map((k) => refusedWith(broker, k))),
    );
    expect(result).toEqual([401, 401, 401, 401, 401]);
    expect(statements).toBe(0);
    nothingSetUp();
  });

  it("refuses an unknown key with 401 after one lookup and sets nothing up", async () => {
    const { result, statements } = await countBrokerStatements(() => refusedWith(broker, mintPak().pak));
    expect(result).toBe(401);
    expect(statements).toBe(1);
    nothingSetUp();
  });

  it("refuses a generator's and the admin's key with 403", async () => {
    const gen = await createGenerator(broker);
    expect(await refusedWith(broker, gen.pak)).toBe(403);
    expect(await refusedWith(broker, `Bearer ${broker.adminPak}`)).toBe(403);
    nothingSetUp();
  });
});

describe("revocation", () => {
  const connected = async () => {
    const fixture = await targetedAgent(broker);
    const socket = await connectBrokkrAgent(broker, fixture.agent.pak);
    await vi.waitFor(() => expect(broker.app.agentSockets.isStreaming(fixture.agent.id)).toBe(true));
    return { ...fixture, socket };
  };

  it("closes the socket with 4401 when the agent's key is rotated; the old key is then refused, the new one served", async () => {
    const { gen, agent, stack, socket } = await connected();
    const pak = ok(
      await broker.gql<{ rotateAgentPak: { pak: string } }>(`mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`, {
        id: agent.id,
      }),
    ).rotateAgentPak.pak;
    expect((await socket.closed).code).toBe(4401);
    expect(await refusedWith(broker, agent.pak)).toBe(401);
    const fresh = await connectBrokkrAgent(broker, pak);
    await createObject(broker, gen.pak, stack.id);
    await fresh.until((f) => f.some((x) => x.type === "stack_changed" && x.body.id === stack.id));
    await fresh.close();
  });

  it("refuses a write on the old socket right after rotation, before this broker hears of it", async () => {
    const { agent, socket } = await connected();
    const heard = vi.spyOn(broker.app.delivery.connections, "identityChanged").mockImplementation(() => {});
    try {
      ok(await broker.gql(`mutation($id: ID!) { rotateAgentPak(input: { id: $id }) { pak } }`, { id: agent.id }));
      socket.send("heartbeat", { agent_id: agent.id, sent_at: new Date().toISOString() });
      expect((await socket.closed).code).toBe(4401);
      const { rows } = await broker.db.sql.query(`SELECT last_heartbeat FROM agents WHERE id = $1`, [agent.id]);
      expect(rows[0]).toEqual({ last_heartbeat: null });
    } finally {
      heard.mockRestore();
    }
  });

  it("closes the socket with 4401 when the agent is deleted", async () => {
    const { agent, socket } = await connected();
    ok(await broker.gql(`mutation($id: ID!) { deleteAgent(input: { id: $id }) { deletedId } }`, { id: agent.id }));
    expect((await socket.closed).code).toBe(4401);
    await vi.waitFor(() => nothingSetUp());
  });

  it("closes the socket with 4403 when the agent is deactivated", async () => {
    const { agent, socket } = await connected();
    await setAgentStatus(broker, agent.id, "INACTIVE");
    expect((await socket.closed).code).toBe(4403);
  });
});

describe("bounds", () => {
  it("closes with 1009 a frame over BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES and stores nothing", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const object = await createObject(broker, gen.pak, stack.id);
    const socket = await connectBrokkrAgent(broker, agent.pak);
    socket.send("agent_event", {
      agent_id: agent.id,
      deployment_object_id: object.id,
      event_type: "DEPLOY",
      status: "FAILURE",
      message: "x".repeat(8192),
    });
    expect((await socket.closed).code).toBe(1009);
    const { rows } = await broker.db.sql.query(`SELECT count(*)::int AS n FROM agent_events WHERE agent_id = $1`, [agent.id]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("replaces an agent's older socket by its newer one (4409), which gets the pushes", async () => {
    const { gen, agent, stack } = await targetedAgent(broker);
    const first = await connectBrokkrAgent(broker, agent.pak);
    const second = await connectBrokkrAgent(broker, agent.pak);
    expect((await first.closed).code).toBe(CLOSE_REPLACED);
    expect(broker.app.agentSockets.size).toBe(1);
    await createObject(broker, gen.pak, stack.id);
    await second.until((f) => f.length === 1);
    expect(first.frames).toEqual([]);
    await second.close();
  });

  it("closes its agents' sockets with 1001 when the broker stops", async () => {
    const other = await startTestBroker({}, broker.db);
    const { agent } = await targetedAgent(broker);
    const socket = await connectBrokkrAgent(other, agent.pak);
    await other.stop();
    expect((await socket.closed).code).toBe(1001);
  });

  it("closes a socket that stops reading with 4413 instead of buffering without end", async () => {
    const { gen, agent } = await targetedAgent(broker);
    // Frames carry the Stack row: a long description makes each one about 4 KiB.
    const stack = await createStack(broker, gen.pak, { description: "d".repeat(4000) });
    ok(
      await broker.gql(`mutation($a: ID!, $s: ID!) { targetStack(input: { agentId: $a, stackId: $s }) { agent { id } } }`, {
        a: agent.id,
        s: stack.id,
      }),
    );
    const socket = await connectBrokkrAgent(broker, agent.pak);
    await vi.waitFor(() => expect(broker.app.agentSockets.isStreaming(agent.id)).toBe(true));
    const before = await metricValue(broker, "brokkr_slow_consumer_disconnects_total");
    (socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // Enough frames to fill the kernel's buffers (a few MiB on loopback), committed in one statement.
    await broker.db.sql.query(
      `INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum)
       SELECT $1, $2, 'a: ' || i, encode(sha256(('a: ' || i)::bytea), 'hex') FROM generate_series(1, 3000) AS i`,
      [stack.id, gen.id],
    );
    await vi.waitFor(async () => expect(await metricValue(broker, "brokkr_slow_consumer_disconnects_total")).toBe(before + 1), {
      timeout: 20_000,
    });
    (socket.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await socket.closed).code).toBe(4413);
    expect(socket.frames.length).toBeLessThan(3000);
  });
});
