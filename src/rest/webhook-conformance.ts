import { beforeAll, describe, expect, it } from "vitest";
import type { TestBroker } from "../../test/broker.js";
import { createAgent, createStack, unique } from "../../test/factories.js";
import type { specClient } from "../../test/openapi/spec.js";
import { startReceiver, type Receiver } from "../../test/webhook-receiver.js";
import { DELIVERY_TASK } from "../webhooks/worker.js";

/** The webhook operations of Brokkr's REST API v1 (reference §1.3, §4.8), exercised by webhookConformance. */
export const WEBHOOK_OPERATIONS = [
  "list_webhooks",
  "create_webhook",
  "get_webhook",
  "update_webhook",
  "delete_webhook",
  "list_event_types",
  "list_deliveries",
  "test_webhook",
  "get_pending_agent_webhooks",
  "report_delivery_result",
] as const;

interface Setup {
  broker: TestBroker;
  as: (pak: string) => ReturnType<typeof specClient>;
  generator: { id: string; pak: string };
}

const NO_SUCH = "00000000-0000-4000-8000-000000000000";

/**
 * The webhook operations through the spec-generated client of conformance.int.test.ts (each
 * response validated against the spec), registered into that file's run.
 */
export function webhookConformance(setup: () => Setup): void {
  describe("webhooks, validated against Brokkr's spec", () => {
    let receiver: Receiver;
    const id = (s: string) => ({ params: { path: { id: s } } });
    beforeAll(async () => {
      receiver = await startReceiver();
    });

    it("manages subscriptions: event types, create, list, get, update, delete, with Brokkr's refusals", async () => {
      const { as, broker, generator } = setup();
      const admin = as(broker.adminPak);
      expect((await admin.GET("/webhooks/event-types")).data).toContain("deployment.applied");
      const body = { name: unique("hook"), url: `${receiver.url}/in`, event_types: ["deployment.*"], auth_header: "Bearer x" };
      const made = await admin.POST("/webhooks", { body });
      expect(made.response.status).toBe(201);
      expect(made.data).toMatchObject({ has_url: true, has_auth_header: true, event_types: ["deployment.*"], max_retries: 5 });
      const hook = made.data?.id ?? "";
      const refusals: [unknown, number, string][] = [
        [{ ...body, url: "ftp://example.com/x" }, 400, "BAD_USER_INPUT"],
        [{ ...body, url: "javascript:alert(1)" }, 400, "BAD_USER_INPUT"],
        [{ ...body, event_types: ["nothing.*"] }, 400, "BAD_USER_INPUT"],
        [{ ...body, timeout_seconds: 0 }, 422, "invalid_webhook"],
        [{ ...body, max_retries: 1000 }, 422, "invalid_webhook"],
        [{ ...body, filters: { labels: ["a"] } }, 422, "unsupported_field"],
        [{ ...body, validate: true }, 422, "unsupported_field"],
      ];
      for (const [bad, status, code] of refusals) {
        const refused = await admin.POST("/webhooks", { body: bad as never });
        expect([refused.response.status, refused.error?.code]).toEqual([status, code]);
      }
      expect((await admin.GET("/webhooks")).data?.map((w) => w.id)).toContain(hook);
      expect((await admin.GET("/webhooks/{id}", id(hook))).data?.name).toBe(body.name);
      expect((await admin.GET("/webhooks/{id}", id(NO_SUCH))).response.status).toBe(404);
      const updated = await admin.PUT("/webhooks/{id}", { ...id(hook), body: { enabled: false, auth_header: "" } });
      expect(updated.data).toMatchObject({ enabled: false, has_auth_header: false });
      const labels = await admin.PUT("/webhooks/{id}", { ...id(hook), body: { filters: { labels: ["a"] } as never } });
      expect(labels.error?.code).toBe("unsupported_field");
      expect((await admin.PUT("/webhooks/{id}", { ...id(NO_SUCH), body: {} })).response.status).toBe(404);
      for (const pak of [generator.pak]) {
        expect((await as(pak).GET("/webhooks")).response.status).toBe(403);
        expect((await as(pak).POST("/webhooks", { body })).response.status).toBe(403);
        expect((await as(pak).GET("/webhooks/event-types")).response.status).toBe(403);
      }
      expect((await admin.DELETE("/webhooks/{id}", id(hook))).response.status).toBe(204);
      expect((await admin.DELETE("/webhooks/{id}", id(hook))).response.status).toBe(404);
    });

    it("sends a test event at once, answers 400 when the receiver fails it, and lists the deliveries", async () => {
      const { as, broker } = setup();
      const admin = as(broker.adminPak);
      const made = await admin.POST("/webhooks", { body: { name: unique("t"), url: `${receiver.url}/t`, event_types: ["*"] } });
      const hook = made.data?.id ?? "";
      expect((await admin.POST("/webhooks/{id}/test", id(hook))).response.status).toBe(200);
      expect(JSON.parse(receiver.received.at(-1)?.body ?? "{}").event_type).toBe("webhook.test");
      receiver.respond = () => 500;
      const failed = await admin.POST("/webhooks/{id}/test", id(hook));
      receiver.respond = () => 200;
      expect([failed.response.status, failed.error?.code]).toEqual([400, "test_delivery_failed"]);
      expect((await admin.POST("/webhooks/{id}/test", id(NO_SUCH))).response.status).toBe(404);
      const all = await admin.GET("/webhooks/{id}/deliveries", id(hook));
      expect(all.data?.map((d) => d.status)).toEqual(["dead", "success"]);
      const dead = await admin.GET("/webhooks/{id}/deliveries", {
        params: { path: { id: hook }, query: { status: "dead", limit: 1, offset: 0 } },
      });
      expect(dead.data).toHaveLength(1);
      expect(dead.data?.[0]).toMatchObject({ event_type: "webhook.test", attempts: 1, last_error: "HTTP 500" });
      expect((await admin.GET("/webhooks/{id}/deliveries", id(NO_SUCH))).response.status).toBe(404);
      await admin.DELETE("/webhooks/{id}", id(hook));
    });

    it("hands a labelled delivery to an agent carrying the labels, with signature headers and not the secret", async () => {
      const { as, broker, generator } = setup();
      const admin = as(broker.adminPak);
      const label = unique("dmz").slice(0, 60);
      const edge = await createAgent(broker, { activate: true, labels: [label] });
      const outsider = await createAgent(broker, { activate: true });
      const inactive = await createAgent(broker, { labels: [label] });
      const made = await admin.POST("/webhooks", {
        body: {
          name: unique("edge"),
          url: "https://inside.example/hook",
          event_types: ["stack.created"],
          target_labels: [label],
        },
      });
      const hook = made.data?.id ?? "";
      await createStack(broker, generator.pak);
      await broker.app.scheduler.runNow(DELIVERY_TASK);
      const agentPath = (a: string) => ({ params: { path: { agent_id: a } } });
      expect((await as(outsider.pak).GET("/agents/{agent_id}/webhooks/pending", agentPath(outsider.id))).data).toEqual([]);
      expect((await as(outsider.pak).GET("/agents/{agent_id}/webhooks/pending", agentPath(edge.id))).response.status).toBe(403);
      // An inactive agent carrying the labels gets nothing, least of all URLs and auth headers.
      expect((await as(inactive.pak).GET("/agents/{agent_id}/webhooks/pending", agentPath(inactive.id))).response.status).toBe(
        403,
      );
      const pending = await as(edge.pak).GET("/agents/{agent_id}/webhooks/pending", agentPath(edge.id));
      expect(pending.data).toHaveLength(1);
      const delivery = pending.data?.[0];
      expect(delivery).toMatchObject({ url: "https://inside.example/hook", attempts: 1, subscription_id: hook });
      const headers = (delivery as unknown as { headers: Record<string, string> }).headers;
      expect(headers["X-Brokkr-Signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(JSON.stringify(pending.data)).not.toContain("whsec_");
      // Claimed: a second poll gets nothing until the claim expires.
      expect((await as(edge.pak).GET("/agents/{agent_id}/webhooks/pending", agentPath(edge.id))).data).toEqual([]);
      const result = { success: true, status_code: 204, duration_ms: 12 };
      const path = id(delivery?.id ?? "");
      expect((await as(broker.adminPak).POST("/webhook-deliveries/{id}/result", { ...path, body: result })).response.status).toBe(
        403,
      );
      expect((await as(outsider.pak).POST("/webhook-deliveries/{id}/result", { ...path, body: result })).response.status).toBe(
        404,
      );
      expect((await as(edge.pak).POST("/webhook-deliveries/{id}/result", { ...path, body: result })).response.status).toBe(200);
      expect((await as(edge.pak).POST("/webhook-deliveries/{id}/result", { ...path, body: result })).response.status).toBe(404);
      const listed = await admin.GET("/webhooks/{id}/deliveries", id(hook));
      expect(listed.data?.[0]).toMatchObject({ status: "success", acquired_by: edge.id });
      await admin.DELETE("/webhooks/{id}", id(hook));
    });
  });
}
