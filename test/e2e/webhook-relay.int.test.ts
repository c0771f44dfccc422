import { createHmac } from "node:crypto";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { relayWebhooks } from "../../agent/webhooks/relay.ts";
import { DELIVERY_TASK } from "../../src/webhooks/worker.js";
import { startTestBroker, type TestBroker } from "../broker.js";
import { createAgent, createGenerator, createStack, unique } from "../factories.js";
import { startReceiver, type Receiver } from "../webhook-receiver.js";

/* The agent's webhook relay against a real broker: a receiver only the agent's network reaches. */
const SECRET = "relay-test-secret-0123456789";
let broker: TestBroker;
let receiver: Receiver;
let generator: { id: string; pak: string };
const silent = pino({ level: "silent" });

beforeAll(async () => {
  receiver = await startReceiver();
  broker = await startTestBroker({ BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "3600" });
  generator = await createGenerator(broker);
});

describe("agent webhook relay", () => {
  it("delivers a labelled webhook signed by the broker and reports the outcome, retrying a 500", async () => {
    const label = unique("net").slice(0, 60);
    const agent = await createAgent(broker, { activate: true, labels: [label] });
    const res = await fetch(`${broker.url}/api/v1/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${broker.adminPak}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: unique("inside"),
        url: `${receiver.url}/inside`,
        event_types: ["stack.created"],
        target_labels: [label],
        auth_header: "Bearer inside",
        secret: SECRET,
      }),
    });
    const sub = ((await res.json()) as { id: string }).id;
    const http = { baseUrl: broker.url, pak: agent.pak };
    await createStack(broker, generator.pak);
    await broker.app.scheduler.runNow(DELIVERY_TASK);
    // The broker does not deliver labelled subscriptions itself.
    expect(receiver.received).toHaveLength(0);
    receiver.respond = () => 500;
    expect(await relayWebhooks(http, agent.id, silent)).toBe(1);
    const [first] = await receiver.waitFor(1);
    const ts = String(first?.headers["x-brokkr-timestamp"]);
    expect(first?.headers["x-brokkr-signature-256"]).toBe(
      `sha256=${createHmac("sha256", SECRET).update(`${ts}.${first?.body}`).digest("hex")}`,
    );
    expect(first?.headers.authorization).toBe("Bearer inside");
    expect(first?.headers["content-type"]).toBe("application/json");
    const rows = async () =>
      (
        await broker.db.sql.query("SELECT status, attempts, acquired_by FROM webhook_deliveries WHERE subscription_id = $1", [
          sub,
        ])
      ).rows;
    expect(await rows()).toEqual([{ status: "failed", attempts: 1, acquired_by: agent.id }]);
    await broker.db.sql.query("UPDATE webhook_deliveries SET due_at = now() WHERE subscription_id = $1", [sub]);
    receiver.respond = () => 200;
    expect(await relayWebhooks(http, agent.id, silent)).toBe(1);
    await receiver.waitFor(2);
    expect(await rows()).toEqual([{ status: "success", attempts: 2, acquired_by: agent.id }]);
    const attempts = await broker.db.sql.query(
      "SELECT a.attempt, a.delivered_by, a.status_code FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.subscription_id = $1 ORDER BY attempt",
      [sub],
    );
    expect(attempts.rows).toEqual([
      { attempt: 1, delivered_by: agent.id, status_code: 500 },
      { attempt: 2, delivered_by: agent.id, status_code: 200 },
    ]);
    expect(await relayWebhooks(http, agent.id, silent)).toBe(0);
  });
});
