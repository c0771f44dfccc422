import { once } from "node:events";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { diagnosticWorld, expire, requestFor } from "../../test/diagnostics.js";
import { createAgent } from "../../test/factories.js";
import { waitUntil, wsClient } from "../../test/subscriptions.js";

let broker: TestBroker;

beforeAll(async () => {
  // A short clean-up interval, to see the scheduler run it on its own (nothing here expires otherwise).
  broker = await startTestBroker({ BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS: "1" });
});

const SUBSCRIBE = `subscription { agentDiagnosticRequests { id agentId deploymentObjectId stackId status } }`;

/** Subscribes as `pak`; resolves once the broker has opened the stream (or with its errors). */
async function watch(pak: string) {
  const client = wsClient(broker.url, pak);
  const received: { id: string; agentId: string; stackId: string; status: string }[] = [];
  let errors: unknown;
  const opened = once(broker.app.diagnostics, "opened");
  const failed = new Promise<void>((resolve) => {
    client.subscribe<{ agentDiagnosticRequests: (typeof received)[number] }>(
      { query: SUBSCRIBE },
      {
        next: (r) => {
          if (r.data) return void received.push(r.data.agentDiagnosticRequests);
          errors = r.errors;
          resolve();
        },
        error: (e) => {
          errors = e;
          resolve();
        },
        complete: () => {},
      },
    );
  });
  await Promise.race([opened, failed]);
  return { received, errors: () => errors, stop: () => client.dispose() };
}

describe("agentDiagnosticRequests", () => {
  it("replays the agent's pending requests, then pushes new ones, and never another agent's", async () => {
    const world = await diagnosticWorld(broker);
    const other = await createAgent(broker, { activate: true });
    const waiting = await requestFor(broker, world.object.id, world.agent.id);
    const sub = await watch(world.agent.pak);
    try {
      await waitUntil(
        () => sub.received.some((r) => r.id === waiting.id),
        () => JSON.stringify(sub.received),
      );
      await requestFor(broker, world.object.id, other.id);
      const live = await requestFor(broker, world.object.id, world.agent.id);
      await waitUntil(
        () => sub.received.some((r) => r.id === live.id),
        () => JSON.stringify(sub.received),
      );
      expect(sub.received.map((r) => r.id)).toEqual([waiting.id, live.id]);
      expect(sub.received[1]).toMatchObject({ agentId: world.agent.id, stackId: world.stack.id, status: "PENDING" });
    } finally {
      await sub.stop();
    }
  });

  it("still pushes a request made while the broker's listener reconnects", async () => {
    const world = await diagnosticWorld(broker);
    const sub = await watch(world.agent.pak);
    try {
      // Its notification is lost while the listener is away; the resync after reconnecting re-reads pending requests.
      broker.app.listener.simulateConnectionLoss();
      const missed = await requestFor(broker, world.object.id, world.agent.id);
      await waitUntil(
        () => sub.received.some((r) => r.id === missed.id),
        () => JSON.stringify(sub.received),
      );
    } finally {
      await sub.stop();
    }
  });

  it("refuses the admin and generators with FORBIDDEN", async () => {
    const world = await diagnosticWorld(broker);
    for (const pak of [broker.adminPak, world.gen.pak]) {
      const sub = await watch(pak);
      expect(JSON.stringify(sub.errors())).toContain("FORBIDDEN");
      await sub.stop();
    }
  });
});

describe("diagnostic-cleanup", () => {
  it("runs on the interval BROKKR__BROKER__DIAGNOSTIC_CLEANUP_INTERVAL_SECONDS sets", async () => {
    const world = await diagnosticWorld(broker);
    const req = await requestFor(broker, world.object.id, world.agent.id);
    await expire(broker, req.id);
    await waitUntil(
      async () => (await broker.db.sql.query("SELECT 1 FROM diagnostic_requests WHERE id = $1", [req.id])).rowCount === 0,
      () => "the expired request is still there",
    );
  });
});
