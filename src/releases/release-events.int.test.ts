import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { outboxProbe } from "../../test/domain-events.js";
import { unique } from "../../test/factories.js";
import {
  createComponent,
  createRelease,
  createReleaseRaw,
  readyRelease,
  registerVersion,
  setReleaseStatus,
} from "../../test/releases.js";
import { createTemplate } from "../../test/templates.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";

/* Release events: written to the outbox with the change, and from there delivered to a real receiver. */
let broker: TestBroker;
let receiver: Receiver;
let api: { id: string };
let v1: { id: string; tag: string; digest: string; semver: string };
let systemTemplate: string;

beforeAll(async () => {
  receiver = await startReceiver();
  broker = await startTestBroker({ BROKKR__BROKER__WEBHOOK_DELIVERY_INTERVAL_SECONDS: "0.2" });
  api = await createComponent(broker);
  v1 = await registerVersion(broker, api.id);
  systemTemplate = (await createTemplate(broker, broker.adminPak)).id;
});

describe("the outbox", () => {
  it("writes release.created and release.status_changed to the outbox with the change, and nothing for a refusal", async () => {
    const probe = outboxProbe(broker.db.sql);
    let id = "";
    const created = await probe.eventsDuring(async () => {
      id = (await createRelease(broker, { components: [{ componentId: api.id, versionId: v1.id }], templateId: systemTemplate }))
        .id;
    });
    expect(probe.types(created)).toEqual(["release.created"]);
    expect(created[0]?.data).toMatchObject({
      release_id: id,
      status: "DRAFT",
      template_id: systemTemplate,
      components: [{ component_id: api.id, version_id: v1.id, tag: v1.tag, digest: v1.digest, semver: v1.semver }],
    });
    const changed = await probe.eventsDuring(() => setReleaseStatus(broker, id, "READY"));
    expect(changed.map((e) => [e.event_type, e.data.status, e.data.previous_status])).toEqual([
      ["release.status_changed", "READY", "DRAFT"],
    ]);
    const refused = await probe.eventsDuring(async () => {
      expect(errorCode(await setReleaseStatus(broker, id, "DRAFT"))).toBe("CONFLICT");
      expect(errorCode(await createReleaseRaw(broker, { name: unique("rel"), templateId: systemTemplate, components: [] }))).toBe(
        "BAD_USER_INPUT",
      );
      ok(await setReleaseStatus(broker, id, "READY"));
    });
    expect(refused).toEqual([]);
  });
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
