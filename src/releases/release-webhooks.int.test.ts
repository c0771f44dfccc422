import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { unique } from "../../test/factories.js";
import { readyRelease, setReleaseStatus } from "../../test/releases.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";

/* Release events end to end: the outbox rows the releases service writes reach a real receiver. */
let broker: TestBroker;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  broker = await startTestBroker({ BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "0.2" });
});

describe("release webhooks", () => {
  it("delivers release.created and release.status_changed to a subscription of release.*", async () => {
    ok(
      await broker.gql(
        `mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) { subscription { id } } }`,
        { i: { name: unique("hook"), url: `${receiver.url}/releases`, eventTypes: ["release.*"] } },
      ),
    );
    const { release } = await readyRelease(broker);
    ok(await setReleaseStatus(broker, release.id, "DEPRECATED"));
    const got = await receiver.waitFor(2);
    const events = got.map((r) => ({ type: r.headers["x-brokkr-event-type"], body: JSON.parse(r.body) }));
    expect(events.map((e) => e.type).sort()).toEqual(["release.created", "release.status_changed"]);
    expect(JSON.stringify(events)).toContain(release.id);
  });
});
