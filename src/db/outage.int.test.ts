import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { refusedWith } from "../../test/brokkr-agent.js";
import { startFaultPostgres } from "../../test/fault-postgres.js";

const INTERNALS = /127\.0\.0\.1|localhost|:\d{4,5}|prisma|postgres|ECONN|SELECT|invocation/i;

async function post(broker: TestBroker, pak: string, query: string) {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pak}` },
    body: JSON.stringify({ query }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

/** Opens a graphql-transport-ws socket, sends connection_init, and reports how it ends or acks. */
async function connectionInit(broker: TestBroker, pak: string) {
  const socket = new WebSocket(broker.url.replace("http", "ws") + "/graphql", "graphql-transport-ws");
  const messages: { type: string; id?: string; payload?: any }[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    socket.once("close", (code, reason) => r({ code, reason: String(reason) })),
  );
  await new Promise((r) => socket.once("open", r));
  socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${pak}` } }));
  return { socket, messages, closed };
}

function expectUnavailable(result: Awaited<ReturnType<typeof post>>) {
  expect(result.status).toBe(503);
  expect(result.retryAfter).toMatch(/^\d+$/);
  const error = result.body.errors?.[0];
  expect(error?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
  expect(error?.message).not.toMatch(INTERNALS);
}

describe("PostgreSQL down", () => {
  it("answers every path with SERVICE_UNAVAILABLE (503, Retry-After, no internals) and recovers when it is back", async () => {
    const pg = await startFaultPostgres();
    const broker = await startTestBroker({ BROKKR__DATABASE__CONNECT_TIMEOUT_MS: "1000" }, pg.db);
    const gen = await createGenerator(broker);
    const agent = await createAgent(broker, { activate: true });
    const adminSocket = await connectionInit(broker, broker.adminPak);
    await expect.poll(() => adminSocket.messages.some((m) => m.type === "connection_ack")).toBe(true);
    await pg.kill();

    expectUnavailable(await post(broker, gen.pak, "{ me { role } }"));
    expectUnavailable(await post(broker, agent.pak, "{ me { role } }"));
    expectUnavailable(await post(broker, broker.adminPak, "{ stacks { edges { node { id } } } }"));

    const rest = await fetch(`${broker.url}/api/v1/agents/${agent.id}/target-state`, {
      headers: { authorization: `Bearer ${agent.pak}` },
    });
    expect(rest.status).toBe(503);
    expect(rest.headers.get("retry-after")).toMatch(/^\d+$/);
    const restBody = (await rest.json()) as { code: string; message: string };
    expect(restBody.code).toBe("SERVICE_UNAVAILABLE");
    expect(restBody.message).not.toMatch(INTERNALS);

    const agentSocket = await connectionInit(broker, agent.pak);
    const ended = await agentSocket.closed;
    expect(ended.code).toBe(1013);
    expect(ended.reason).not.toMatch(INTERNALS);
    // Brokkr's agent websocket: its key lookup fails, so the upgrade is refused with 503.
    expect(await refusedWith(broker, `Bearer ${agent.pak}`)).toBe(503);

    adminSocket.socket.send(
      JSON.stringify({ id: "q", type: "subscribe", payload: { query: "{ stacks { edges { node { id } } } }" } }),
    );
    await expect.poll(() => adminSocket.messages.find((m) => m.id === "q" && m.type !== "complete")).toBeTruthy();
    const answer = adminSocket.messages.find((m) => m.id === "q")!;
    const wsError = answer.type === "error" ? answer.payload[0] : answer.payload.errors[0];
    expect(wsError.extensions.code).toBe("SERVICE_UNAVAILABLE");
    expect(wsError.message).not.toMatch(INTERNALS);

    expect((await fetch(`${broker.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${broker.url}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${broker.url}/metrics`)).text();
    expect(metrics).toMatch(/brokkr_recovered_errors_total\{source="listener"\} [1-9]/);

    await pg.start();
    await expect
      .poll(async () => (await post(broker, gen.pak, "{ me { role } }")).status, { timeout: 20_000, interval: 200 })
      .toBe(200);
    await expect.poll(async () => (await fetch(`${broker.url}/readyz`)).status, { timeout: 20_000, interval: 200 }).toBe(200);
    adminSocket.socket.close();
  });
});

describe("PostgreSQL out of connections", () => {
  it("answers SERVICE_UNAVAILABLE for requests that need a connection and a start names the sizing rule", async () => {
    // No slots reserved for superusers: the test's user is one.
    const pg = await startFaultPostgres(["-c", "max_connections=6", "-c", "superuser_reserved_connections=0"]);
    // Pool 4 + LISTEN 1 fit in 6 slots once the test's own connections are gone.
    const broker = await startTestBroker({ BROKKR__DATABASE__POOL_SIZE: "4" }, pg.db);
    const gen = await createGenerator(broker);
    const { default: pgLib } = await import("pg");
    const hogs: InstanceType<typeof pgLib.Client>[] = [];
    const hogAllSlots = async () => {
      for (;;) {
        const client = new pgLib.Client({ connectionString: pg.url });
        client.on("error", () => {});
        try {
          await client.connect();
          hogs.push(client);
        } catch (err) {
          expect((err as { code?: string }).code).toBe("53300");
          return;
        }
      }
    };
    await hogAllSlots();
    // The pool's open connections would serve every request: end them, and take their slots too.
    await hogs[0]!.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'brokkr-broker'");
    await expect.poll(() => broker.app.database.pool.totalCount).toBe(0);
    await hogAllSlots();
    const results = await Promise.all(Array.from({ length: 8 }, () => post(broker, gen.pak, "{ me { role } }")));
    for (const r of results) expectUnavailable(r);

    const second = await startTestBroker({}, pg.db).catch((err: Error) => err);
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(/53300.*BROKKR__DATABASE__POOL_SIZE \+ 1 connections/);

    await Promise.all(hogs.map((c) => c.end()));
    const after = await Promise.all(Array.from({ length: 8 }, () => post(broker, gen.pak, "{ me { role } }")));
    expect(after.map((r) => r.status)).toEqual(Array(8).fill(200));
    // Two PostgreSQL servers and two brokers start here: on a loaded machine that passed 30 s.
  }, 60_000);
});
