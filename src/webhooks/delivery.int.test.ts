import { createHmac, randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack, unique } from "../../test/factories.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";
import { rootLogger } from "../logger.js";
import { DELIVERY_TASK } from "./worker.js";

/*
 * Webhook delivery end to end: events from real writes, fanned out and POSTed by the broker's
 * delivery task to a real HTTP receiver. Tests run the task with runNow, never on its interval.
 */
const KEY = randomBytes(32).toString("hex");
const ENV = {
  BROKKR__BROKER__WEBHOOK_ENCRYPTION_KEY: KEY,
  BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "3600",
  BROKKR__BROKER__WEBHOOK_DELIVERY_BATCH_SIZE: "10",
  BROKKR__LOG__LEVEL: "trace",
};
const SECRET = `test-signing-secret-${randomBytes(8).toString("hex")}`;
const AUTH = `Bearer receiver-token-${randomBytes(8).toString("hex")}`;

let broker: TestBroker;
let receiver: Receiver;
let generator: { id: string; pak: string };
const logLines: string[] = [];
const responses: string[] = [];
const q = async <T = any>(sql: string, params: unknown[] = []) => (await broker.db.sql.query(sql, params)).rows as T[];

async function rest(method: string, path: string, body?: unknown) {
  const res = await fetch(`${broker.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${broker.adminPak}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A subscription to the receiver (at a path holding a token: the URL is a secret too). */
async function subscribe(extra: Record<string, unknown> = {}) {
  const made = await rest("POST", "/webhooks", {
    name: unique("hook"),
    url: `${receiver.url}/hooks/${randomBytes(8).toString("hex")}`,
    event_types: ["*"],
    auth_header: AUTH,
    secret: SECRET,
    ...extra,
  });
  if (made.status !== 201) throw new Error(JSON.stringify(made));
  return made.body as { id: string };
}

const deliver = async (b = broker) => expect((await b.app.scheduler.runNow(DELIVERY_TASK)).outcome).toBe("ok");
const deliveriesOf = (subscriptionId: string) =>
  q("SELECT * FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY created_at", [subscriptionId]);

beforeAll(async () => {
  const root = rootLogger() as unknown as Record<symbol, unknown>;
  const original = root[pino.symbols.streamSym];
  root[pino.symbols.streamSym] = { write: (line: string) => void logLines.push(line) };
  afterAll(() => void (root[pino.symbols.streamSym] = original));
  receiver = await startReceiver();
  broker = await startTestBroker(ENV);
  generator = await createGenerator(broker);
});

afterEach(async () => {
  receiver.respond = () => 200;
  receiver.received.length = 0;
  await q("DELETE FROM webhook_subscriptions");
  await q("UPDATE domain_events SET dispatched_at = now() WHERE dispatched_at IS NULL");
});

describe("webhook delivery", () => {
  it("fans out an outbox backlog far larger than the batch size in one run; the batch bounds attempts", async () => {
    const sub = await subscribe({ event_types: ["stack.created"] });
    await q("INSERT INTO stacks (generator_id, name) SELECT $1, 'backlog-' || g || '-' || $2 FROM generate_series(1, 120) g", [
      generator.id,
      randomBytes(4).toString("hex"),
    ]);
    await deliver();
    expect(await deliveriesOf(sub.id)).toHaveLength(120);
    // BATCH_SIZE 10: one run attempted ten of them.
    expect(receiver.received).toHaveLength(10);
  });

  it("POSTs each event once with a signature over timestamp and body that the receiver can recompute", async () => {
    const sub = await subscribe({ event_types: ["stack.created"] });
    const stack = await createStack(broker, generator.pak);
    await deliver();
    const [got] = await receiver.waitFor(1);
    const body = JSON.parse(got?.body ?? "");
    expect(body).toMatchObject({ event_type: "stack.created", data: { stack_id: stack.id, generator_id: generator.id } });
    const timestamp = String(got?.headers["x-brokkr-timestamp"]);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    const expected = createHmac("sha256", SECRET).update(`${timestamp}.${got?.body}`).digest("hex");
    expect(got?.headers["x-brokkr-signature-256"]).toBe(`sha256=${expected}`);
    expect(got?.headers.authorization).toBe(AUTH);
    expect(got?.headers["x-brokkr-event-id"]).toBe(body.id);
    expect((await deliveriesOf(sub.id)).map((d) => d.status)).toEqual(["success"]);
    await deliver();
    expect(receiver.received).toHaveLength(1);
  });

  it("retries a receiver answering 500 with growing, jittered delays and gives up after max_retries", async () => {
    receiver.respond = () => 500;
    const sub = await subscribe({ event_types: ["stack.created"], max_retries: 3 });
    await createStack(broker, generator.pak);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await deliver();
      await receiver.waitFor(attempt);
      const [d] = await deliveriesOf(sub.id);
      expect(d.attempts).toBe(attempt);
      if (attempt < 3) {
        expect(d.status).toBe("failed");
        delays.push(d.due_at.getTime() - d.last_attempt_at.getTime());
        // Time travel instead of waiting out the backoff.
        await q("UPDATE webhook_deliveries SET due_at = now() WHERE id = $1", [d.id]);
      } else expect(d).toMatchObject({ status: "dead", last_status_code: 500, last_error: "HTTP 500" });
    }
    // Base 2 s: attempt 1 waits 1–2 s, attempt 2 waits 2–4 s.
    expect(delays[0]).toBeGreaterThanOrEqual(900);
    expect(delays[0]).toBeLessThanOrEqual(2100);
    expect(delays[1]).toBeGreaterThanOrEqual(1900);
    expect(delays[1]).toBeLessThanOrEqual(4100);
    const attempts = await q("SELECT attempt, status_code, success, duration_ms FROM webhook_delivery_attempts ORDER BY attempt");
    expect(attempts.map((a) => [a.attempt, a.status_code, a.success])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 500, false],
    ]);
    expect(attempts.every((a) => a.duration_ms >= 0)).toBe(true);
    await deliver();
    expect(receiver.received).toHaveLength(3);
  });

  it("gives up at once on a non-retryable answer and retries a 429", async () => {
    const gone = await subscribe({ event_types: ["stack.created"], filters: { stack_id: null } });
    receiver.respond = () => 404;
    await createStack(broker, generator.pak);
    await deliver();
    await receiver.waitFor(1);
    expect((await deliveriesOf(gone.id)).map((d) => [d.status, d.attempts])).toEqual([["dead", 1]]);
    receiver.respond = () => 429;
    await createStack(broker, generator.pak);
    await deliver();
    await receiver.waitFor(2);
    expect((await deliveriesOf(gone.id)).map((d) => d.status)).toEqual(["dead", "failed"]);
  });

  it("matches exact types, prefix wildcards and *, applies filters, and skips disabled subscriptions", async () => {
    const agent = await createAgent(broker);
    const exact = await subscribe({ event_types: ["stack.created"] });
    const prefix = await subscribe({ event_types: ["stack.*"] });
    const all = await subscribe({ event_types: ["*"] });
    const other = await subscribe({ event_types: ["deployment.*"] });
    const disabled = await subscribe({ event_types: ["*"] });
    expect((await rest("PUT", `/webhooks/${disabled.id}`, { enabled: false })).status).toBe(200);
    const byAgent = await subscribe({ event_types: ["stack.*"], filters: { agent_id: agent.id } });
    const s1 = await createStack(broker, generator.pak);
    const byStack = await subscribe({ event_types: ["stack.*"], filters: { stack_id: s1.id } });
    await rest("PUT", `/webhooks/${byStack.id}`, { name: unique("renamed") });
    await broker.gql(`mutation($id: ID!) { updateStack(input: { id: $id, description: "x" }) { stack { id } } }`, { id: s1.id });
    await createStack(broker, generator.pak);
    await deliver();
    const count = async (id: string) => (await deliveriesOf(id)).map((d) => d.event_type).sort();
    expect(await count(exact.id)).toEqual(["stack.created", "stack.created"]);
    expect(await count(prefix.id)).toEqual(["stack.created", "stack.created", "stack.updated"]);
    expect((await count(all.id)).length).toBeGreaterThanOrEqual(3);
    expect(await count(other.id)).toEqual([]);
    expect(await count(disabled.id)).toEqual([]);
    // stack.* events carry no agent_id: an agent filter never matches them.
    expect(await count(byAgent.id)).toEqual([]);
    expect(await count(byStack.id)).toEqual(["stack.updated"]);
  });

  it("delivers each attempt once when two brokers run deliveries at the same time", async () => {
    const second = await startTestBroker(ENV, broker.db);
    const sub = await subscribe({ event_types: ["stack.created"] });
    for (let i = 0; i < 30; i++) await createStack(broker, generator.pak);
    for (let round = 0; round < 10 && receiver.received.length < 30; round++)
      await Promise.all([deliver(broker), deliver(second), deliver(broker), deliver(second)]);
    await receiver.waitFor(30);
    const ids = receiver.received.map((r) => r.headers["x-brokkr-delivery-id"]);
    expect(new Set(ids).size).toBe(30);
    expect(ids).toHaveLength(30);
    const rows = await deliveriesOf(sub.id);
    expect(rows.every((d) => d.status === "success" && d.attempts === 1)).toBe(true);
    await second.stop();
  });

  it("keeps URL, auth header and secret encrypted at rest, bound to their row", async () => {
    const sub = await subscribe();
    const [row] = await q("SELECT * FROM webhook_subscriptions WHERE id = $1", [sub.id]);
    for (const column of ["url_encrypted", "auth_header_encrypted", "secret_encrypted"]) {
      expect(row[column]).toMatch(/^v1:[0-9a-f]{8}:[\w-]+:[\w-]+:[\w-]+$/);
      expect(row[column]).not.toContain(receiver.url);
    }
    const raw = JSON.stringify(row);
    for (const secret of [SECRET, AUTH, receiver.url, "127.0.0.1"]) expect(raw).not.toContain(secret);
  });

  it("never delivers a subscription whose auth header does not decrypt, not even without it", async () => {
    const a = await subscribe({ event_types: ["stack.created"] });
    const b = await subscribe({ event_types: ["stack.created"] });
    // b's ciphertext in a's row: authenticated encryption bound to the row refuses it.
    await q(
      `UPDATE webhook_subscriptions SET auth_header_encrypted =
         (SELECT auth_header_encrypted FROM webhook_subscriptions WHERE id = $2) WHERE id = $1`,
      [a.id, b.id],
    );
    await createStack(broker, generator.pak);
    await deliver();
    await receiver.waitFor(1);
    expect(receiver.received).toHaveLength(1);
    const [dead] = await deliveriesOf(a.id);
    expect(dead).toMatchObject({ status: "dead", last_error: expect.stringContaining("could not be decrypted") });
  });

  it("never shows URL, auth header or secret in a response or a log line", async () => {
    const generated = await rest("POST", "/webhooks", {
      name: unique("gen-secret"),
      url: `${receiver.url}/hooks/private-path-token`,
      event_types: ["stack.*"],
      auth_header: AUTH,
    });
    const shownOnce = generated.body.secret as string;
    expect(shownOnce).toMatch(/^whsec_/);
    const sub = await subscribe({ event_types: ["stack.*"] });
    await createStack(broker, generator.pak);
    await deliver();
    await receiver.waitFor(2);
    await rest("GET", "/webhooks");
    await rest("GET", `/webhooks/${sub.id}`);
    await rest("GET", `/webhooks/${sub.id}/deliveries`);
    await rest("POST", `/webhooks/${sub.id}/test`);
    expect(logLines.length).toBeGreaterThan(0);
    const later = responses.filter((r) => !r.includes(shownOnce)).join("\n");
    expect(responses.filter((r) => r.includes(shownOnce))).toHaveLength(1);
    for (const text of [later, logLines.join("\n")])
      for (const secret of [SECRET, AUTH, "private-path-token", `${receiver.url}/hooks`]) expect(text).not.toContain(secret);
  });
});
