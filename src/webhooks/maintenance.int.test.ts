import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createGenerator, createStack, unique } from "../../test/factories.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";
import { recordAttempts } from "./delivery-store.js";
import { CLEANUP_TASK, DELIVERY_TASK } from "./worker.js";

/* What the delivery task does besides delivering: taking over dead claims, and the retention clean-up. */
let broker: TestBroker;
let receiver: Receiver;
let generator: { id: string; pak: string };
const q = async <T = any>(sql: string, params: unknown[] = []) => (await broker.db.sql.query(sql, params)).rows as T[];

async function subscription(maxRetries = 5): Promise<string> {
  const res = await fetch(`${broker.url}/api/v1/webhooks`, {
    method: "POST",
    headers: { authorization: `Bearer ${broker.adminPak}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: unique("m"),
      url: `${receiver.url}/m`,
      event_types: ["stack.created"],
      max_retries: maxRetries,
    }),
  });
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  receiver = await startReceiver();
  broker = await startTestBroker({
    BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "3600",
    BROKKR__BROKER__WEBHOOK_CLEANUP_INTERVAL_SECONDS: "3600",
    BROKKR__BROKER__WEBHOOK_RETENTION_DAYS: "7",
  });
  generator = await createGenerator(broker);
});

describe("webhook maintenance", () => {
  it("takes over a claim whose holder died, and drops the dead holder's late record", async () => {
    const sub = await subscription();
    await createStack(broker, generator.pak);
    await broker.app.scheduler.runNow(DELIVERY_TASK);
    await receiver.waitFor(1);
    // As if a broker had claimed attempt 2 and died: the claim has expired.
    const [row] = await q(
      `UPDATE webhook_deliveries SET status = 'acquired', attempts = 2, due_at = now() - interval '1 second'
        WHERE subscription_id = $1 RETURNING id`,
      [sub],
    );
    await broker.app.scheduler.runNow(DELIVERY_TASK);
    await receiver.waitFor(2);
    expect(receiver.received[1]?.headers["x-brokkr-attempt"]).toBe("3");
    const late = { deliveryId: row.id, attempt: 2, success: false, statusCode: 500, error: "late", durationMs: 1 };
    expect(
      await recordAttempts(broker.app.database.prisma, null, [{ ...late, next: { status: "failed", dueAt: new Date() } }]),
    ).toEqual([]);
    const attempts = await q("SELECT attempt FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt", [row.id]);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 3]);
  });

  it("buries a claim that died on its last attempt instead of retrying it", async () => {
    const sub = await subscription(1);
    await q(
      `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload, status, attempts, due_at)
       VALUES ($1, gen_random_uuid(), 'stack.created', '{}', 'acquired', 1, now() - interval '1 second')`,
      [sub],
    );
    const before = receiver.received.length;
    await broker.app.scheduler.runNow(DELIVERY_TASK);
    const [row] = await q("SELECT status, last_error FROM webhook_deliveries WHERE subscription_id = $1", [sub]);
    expect(row).toMatchObject({ status: "dead", last_error: expect.stringContaining("claim expired") });
    expect(receiver.received.length).toBe(before);
  });

  it("deletes finished deliveries and dispatched events older than the retention, and keeps the rest", async () => {
    const sub = await subscription();
    const insert = (status: string, age: string) =>
      q(
        `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, payload, status, completed_at, due_at)
         VALUES ($1, gen_random_uuid(), 'stack.created', '{}', $2, CASE WHEN $2 IN ('success', 'dead') THEN now() - $3::interval END,
                 now() + interval '1 hour')
         RETURNING id`,
        [sub, status, age],
      );
    const [oldDone] = await insert("success", "8 days");
    const [oldDead] = await insert("dead", "8 days");
    const [recent] = await insert("success", "1 day");
    const [waiting] = await insert("failed", "8 days");
    const [oldEvent] = await q(
      `INSERT INTO domain_events (event_type, data, occurred_at, dispatched_at)
       VALUES ('stack.created', '{}', now() - interval '8 days', now() - interval '8 days') RETURNING id`,
    );
    const [pendingEvent] = await q(
      `INSERT INTO domain_events (event_type, data, occurred_at) VALUES ('stack.created', '{}', now() - interval '8 days') RETURNING id`,
    );
    expect((await broker.app.scheduler.runNow(CLEANUP_TASK)).outcome).toBe("ok");
    const left = (await q("SELECT id FROM webhook_deliveries WHERE subscription_id = $1", [sub])).map((r) => r.id);
    expect(left.sort()).toEqual([recent.id, waiting.id].sort());
    expect(left).not.toContain(oldDone.id);
    expect(left).not.toContain(oldDead.id);
    const events = (await q("SELECT id FROM domain_events WHERE id = ANY($1::uuid[])", [[oldEvent.id, pendingEvent.id]])).map(
      (r) => r.id,
    );
    expect(events).toEqual([pendingEvent.id]);
  });
});
