import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, unique } from "../../test/factories.js";
import { wsClient } from "../../test/subscriptions.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";

/* Webhooks through GraphQL: admin-only CRUD, bad input by field, deliveries with paging, the live feed. */
let broker: TestBroker;
let receiver: Receiver;
let generator: { id: string; pak: string };
let agent: { id: string; pak: string };

const FIELDS =
  "id name eventTypes enabled hasUrl hasAuthHeader maxRetries timeoutSeconds targetLabels filters { agentId stackId }";
const CREATE = `mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { subscription { ${FIELDS} } signingSecret } }`;
const UPDATE = `mutation($input: UpdateWebhookSubscriptionInput!) { updateWebhookSubscription(input: $input) { subscription { ${FIELDS} } } }`;
const TEST = `mutation($id: ID!) { testWebhookSubscription(input: { id: $id }) {
  success statusCode durationMs delivery { id status attempts { attempt statusCode success deliveredBy } } } }`;
const DELIVERIES = `query($f: WebhookDeliveryFilter, $first: Int, $after: String) {
  webhookDeliveries(filter: $f, first: $first, after: $after) {
    edges { cursor node { id eventType status attemptCount attempts { attempt statusCode } } } pageInfo { hasNextPage endCursor } } }`;

const input = (extra: Record<string, unknown> = {}) => ({
  name: unique("hook"),
  url: `${receiver.url}/gql`,
  eventTypes: ["stack.*"],
  authHeader: "Bearer t",
  ...extra,
});
async function create(extra: Record<string, unknown> = {}) {
  return ok(await broker.gql(CREATE, { input: input(extra) })).createWebhookSubscription as {
    subscription: { id: string; hasAuthHeader: boolean };
    signingSecret: string | null;
  };
}

beforeAll(async () => {
  receiver = await startReceiver();
  broker = await startTestBroker({ BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "3600" });
  generator = await createGenerator(broker);
  agent = await createAgent(broker, { activate: true });
});

describe("webhooks over GraphQL", () => {
  it("creates a subscription that shows only whether its URL and auth header are set, and a generated secret once", async () => {
    const made = await create({ targetLabels: ["dmz"], filters: { agentId: agent.id } });
    expect(made.subscription).toMatchObject({ hasUrl: true, hasAuthHeader: true, maxRetries: 5, targetLabels: ["dmz"] });
    expect(made.signingSecret).toMatch(/^whsec_/);
    const chosen = await create({ secret: randomBytes(16).toString("hex") });
    expect(chosen.signingSecret).toBeNull();
    const read = ok(
      await broker.gql(`query($id: ID!) { webhookSubscription(id: $id) { ${FIELDS} } }`, { id: made.subscription.id }),
    );
    expect(JSON.stringify(read)).not.toContain(receiver.url);
    const cleared = ok(await broker.gql(UPDATE, { input: { id: made.subscription.id, authHeader: null, filters: null } }));
    expect(cleared.updateWebhookSubscription.subscription).toMatchObject({ hasAuthHeader: false, filters: { agentId: null } });
  });

  it("refuses bad input naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: "ftp://example.com/x" }, "url"],
      [{ url: "file:///etc/passwd" }, "url"],
      [{ url: "nonsense" }, "url"],
      [{ eventTypes: [] }, "eventTypes"],
      [{ eventTypes: ["nothing.at.all"] }, "eventTypes[0]"],
      [{ authHeader: "Bearer a\r\nX-Evil: 1" }, "authHeader"],
      [{ secret: "short" }, "secret"],
      [{ timeoutSeconds: 0 }, "timeoutSeconds"],
      [{ maxRetries: 21 }, "maxRetries"],
      [{ filters: { stackId: "not-a-uuid" } }, "filters.stackId"],
      [{ targetLabels: ["x".repeat(65)] }, "targetLabels[0]"],
    ];
    for (const [extra, field] of cases) {
      const res = await broker.gql(CREATE, { input: input(extra) });
      expect([errorCode(res), res.errors?.[0]?.extensions?.field], JSON.stringify(extra)).toEqual(["BAD_USER_INPUT", field]);
    }
  });

  it("is admin only: generators and agents are FORBIDDEN, no key UNAUTHENTICATED", async () => {
    const { subscription } = await create();
    const operations: [string, Record<string, unknown>][] = [
      [CREATE, { input: input() }],
      [UPDATE, { input: { id: subscription.id, enabled: false } }],
      [`mutation($id: ID!) { deleteWebhookSubscription(input: { id: $id }) { deletedId } }`, { id: subscription.id }],
      [TEST, { id: subscription.id }],
      ["{ webhookEventTypes }", {}],
      ["{ webhookSubscriptions { edges { node { id } } } }", {}],
      [`query($id: ID!) { webhookSubscription(id: $id) { id } }`, { id: subscription.id }],
      [DELIVERIES, {}],
    ];
    for (const [doc, vars] of operations) {
      for (const pak of [generator.pak, agent.pak]) expect(errorCode(await broker.gql(doc, vars, pak)), doc).toBe("FORBIDDEN");
      expect(errorCode(await broker.gql(doc, vars, null)), doc).toBe("UNAUTHENTICATED");
    }
    const rest = await fetch(`${broker.url}/api/v1/webhooks`);
    expect(rest.status).toBe(401);
    expect(receiver.received.filter((r) => r.path === "/gql")).toHaveLength(0);
  });

  it("lists event types, tests a subscription and pages through its deliveries", async () => {
    expect(ok(await broker.gql("{ webhookEventTypes }")).webhookEventTypes).toEqual(
      expect.arrayContaining(["deployment.applied", "workorder.completed", "diagnostic.completed"]),
    );
    const { subscription } = await create();
    const tested = ok(await broker.gql(TEST, { id: subscription.id })).testWebhookSubscription;
    expect(tested).toMatchObject({ success: true, statusCode: 200, delivery: { status: "SUCCESS" } });
    expect(tested.delivery.attempts).toEqual([{ attempt: 1, statusCode: 200, success: true, deliveredBy: "broker" }]);
    await broker.gql(TEST, { id: subscription.id });
    const f = { subscriptionId: subscription.id, status: "SUCCESS" };
    const first = ok(await broker.gql(DELIVERIES, { f, first: 1 })).webhookDeliveries;
    expect(first.edges).toHaveLength(1);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = ok(await broker.gql(DELIVERIES, { f, first: 1, after: first.pageInfo.endCursor })).webhookDeliveries;
    expect(second.edges[0].node.id).not.toBe(first.edges[0].node.id);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(errorCode(await broker.gql(DELIVERIES, { f, after: "bogus" }))).toBe("BAD_USER_INPUT");
    const nested = ok(
      await broker.gql(
        `query($id: ID!) { webhookSubscription(id: $id) { deliveries(status: SUCCESS) { edges { node { id } } } } }`,
        {
          id: subscription.id,
        },
      ),
    );
    expect(nested.webhookSubscription.deliveries.edges).toHaveLength(2);
  });

  it("streams each recorded attempt's outcome to a console subscription", async () => {
    const { subscription } = await create();
    const client = wsClient(broker.url, broker.adminPak);
    const seen: { id: string; status: string; attemptCount: number }[] = [];
    const before = broker.app.webhooks.outcomes.listening;
    const stop = client.subscribe<{ webhookDeliveries: (typeof seen)[number] }>(
      {
        query: `subscription($s: ID) { webhookDeliveries(subscriptionId: $s) { id status attemptCount } }`,
        variables: { s: subscription.id },
      },
      { next: (r) => r.data && seen.push(r.data.webhookDeliveries), error: () => {}, complete: () => {} },
    );
    await vi.waitFor(() => expect(broker.app.webhooks.outcomes.listening).toBeGreaterThan(before));
    receiver.respond = () => 503;
    const tested = ok(await broker.gql(TEST, { id: subscription.id })).testWebhookSubscription;
    receiver.respond = () => 200;
    await vi.waitFor(() => expect(seen).toEqual([{ id: tested.delivery.id, status: "DEAD", attemptCount: 1 }]));
    stop();
    await client.dispose();
  });
});
