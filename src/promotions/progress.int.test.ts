import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { insertDeployment, promotablePair } from "../../test/promotions.js";
import { wsClient } from "../../test/subscriptions.js";
import { createUser } from "../../test/users.js";

const PROGRESS = `subscription($id: ID!) { promotionProgress(promotionId: $id) {
  id status approvals { action } evidence { packetType } } }`;

interface Progress {
  id: string;
  status: string;
  approvals: { action: string }[];
  evidence: { packetType: string }[];
}

let broker: TestBroker;
const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((c) => c.dispose())));

/** A real graphql-ws subscription collecting every promotion it is sent, or the error it ends with. */
function watch(promotionId: string, pak: string) {
  const client = wsClient(broker.url, pak);
  clients.push(client);
  const received: Progress[] = [];
  let error: { extensions?: { code?: string }; message: string } | undefined;
  let ended = false;
  client.subscribe<{ promotionProgress: Progress }>(
    { query: PROGRESS, variables: { id: promotionId } },
    {
      next: (r) => {
        if (r.errors) error = r.errors[0] as never;
        if (r.data) received.push(r.data.promotionProgress);
      },
      error: (e) => {
        error = (Array.isArray(e) ? e[0] : e) as never;
        ended = true;
      },
      complete: () => {
        ended = true;
      },
    },
  );
  return {
    received,
    last: () => received.at(-1),
    refusal: async () => {
      await vi.waitFor(() => expect(ended || error !== undefined).toBe(true), { timeout: 10_000 });
      return error?.extensions?.code;
    },
  };
}

async function requested(pak = broker.adminPak) {
  const { environmentId, releaseId } = await promotablePair(broker, { requiredApprovals: 2 });
  const data = ok(
    await broker.gql<{ requestPromotion: { promotion: { id: string } } }>(
      `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion { id } } }`,
      { i: { releaseId, environmentId } },
      pak,
    ),
  );
  return { id: data.requestPromotion.promotion.id, releaseId, environmentId };
}

beforeAll(async () => {
  broker = await startTestBroker();
});

describe("promotionProgress", () => {
  it("sends the promotion now, after an approval through the API, and after a change by plain SQL", async () => {
    const promotion = await requested();
    const approver = await createUser(broker, "APPROVER");
    const stream = watch(promotion.id, broker.adminPak);
    await vi.waitFor(() => expect(stream.last()?.status).toBe("PENDING_APPROVAL"), { timeout: 10_000 });
    expect(broker.app.promotions.watcherCount(promotion.id)).toBe(1);
    ok(
      await broker.gql(
        `mutation($i: ApprovePromotionInput!) { approvePromotion(input: $i) { promotion { id } } }`,
        { i: { promotionId: promotion.id } },
        approver.pak,
      ),
    );
    await vi.waitFor(() => expect(stream.last()?.approvals).toEqual([{ action: "APPROVED" }]), { timeout: 10_000 });
    expect(stream.last()?.evidence.map((e) => e.packetType)).toEqual(["PROMOTION_REQUESTED", "APPROVAL"]);
    // As another broker (or the rollouts runner) would: no API call on this broker at all.
    await broker.db.sql.query(`UPDATE promotions SET status = 'DEPLOYING' WHERE id = $1`, [promotion.id]);
    await vi.waitFor(() => expect(stream.last()?.status).toBe("DEPLOYING"), { timeout: 10_000 });
    await insertDeployment(broker, { environmentId: promotion.environmentId, releaseId: promotion.releaseId });
    await broker.db.sql.query(`UPDATE promotions SET status = 'DEPLOYED' WHERE id = $1`, [promotion.id]);
    await vi.waitFor(() => expect(stream.last()?.status).toBe("DEPLOYED"), { timeout: 10_000 });
    expect(stream.received.every((p) => p.id === promotion.id)).toBe(true);
  });

  it("is open to read-only users and to the generator that requested it", async () => {
    const generator = await createGenerator(broker);
    const promotion = await requested(generator.pak);
    const viewer = await createUser(broker, "VIEWER");
    for (const pak of [viewer.pak, generator.pak]) {
      const stream = watch(promotion.id, pak);
      await vi.waitFor(() => expect(stream.last()?.status).toBe("PENDING_APPROVAL"), { timeout: 10_000 });
    }
  });

  it("refuses another generator and agents before opening, and names an unknown promotion to the admin", async () => {
    const promotion = await requested();
    const other = await createGenerator(broker);
    const agent = await createAgent(broker);
    expect(await watch(promotion.id, other.pak).refusal()).toBe("FORBIDDEN");
    expect(await watch(promotion.id, agent.pak).refusal()).toBe("FORBIDDEN");
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(await watch(missing, broker.adminPak).refusal()).toBe("NOT_FOUND");
    expect(await watch(missing, other.pak).refusal()).toBe("FORBIDDEN");
    expect(broker.app.promotions.watcherCount(promotion.id)).toBe(0);
  });
});
