import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { insertPromotion, insertRelease, promotablePair } from "../../test/promotions.js";
import { createUser } from "../../test/users.js";

let broker: TestBroker;
let environmentId: string;
const ids: string[] = [];

const PAGE = `query($first: Int, $after: String, $status: PromotionStatus, $env: ID) {
  promotions(first: $first, after: $after, status: $status, environmentId: $env) {
    edges { node { id status } cursor } pageInfo { hasNextPage endCursor } } }`;
type Page = {
  promotions: { edges: { node: { id: string; status: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

beforeAll(async () => {
  broker = await startTestBroker();
  const pair = await promotablePair(broker);
  environmentId = pair.environmentId;
  // Three finished promotions into one environment, oldest first.
  for (const status of ["REJECTED", "DEPLOYED", "FAILED"]) {
    const { releaseId } = await insertRelease(broker.db.sql);
    ids.push(await insertPromotion(broker.db.sql, { releaseId, environmentId, status }));
  }
});

describe("promotion and promotions", () => {
  it("lists an environment's promotions newest first, page by page", async () => {
    const first = ok(await broker.gql<Page>(PAGE, { first: 2, env: environmentId })).promotions;
    expect(first.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = ok(await broker.gql<Page>(PAGE, { first: 2, env: environmentId, after: first.pageInfo.endCursor })).promotions;
    expect(second.edges.map((e) => e.node.id)).toEqual([ids[0]]);
    expect(second.pageInfo.hasNextPage).toBe(false);
  });

  it("filters by status", async () => {
    const page = ok(await broker.gql<Page>(PAGE, { status: "DEPLOYED", env: environmentId })).promotions;
    expect(page.edges.map((e) => e.node.id)).toEqual([ids[1]]);
  });

  it("refuses a forged cursor and an oversized page", async () => {
    expect(errorCode(await broker.gql(PAGE, { after: "bm9wZQ" }))).toBe("BAD_USER_INPUT");
    expect(
      errorCode(
        await broker.gql(PAGE, { after: Buffer.from('["x","00000000-0000-4000-8000-000000000000"]').toString("base64url") }),
      ),
    ).toBe("BAD_USER_INPUT");
    expect(errorCode(await broker.gql(PAGE, { first: 501 }))).toBe("BAD_USER_INPUT");
  });

  it("shows promotions to the admin, every user and generators, not to agents", async () => {
    const query = `query($id: ID!) { promotion(id: $id) { id status requestedBy { user { id } } } }`;
    const viewer = await createUser(broker, "VIEWER");
    const approver = await createUser(broker, "APPROVER");
    const generator = await createGenerator(broker);
    for (const pak of [broker.adminPak, viewer.pak, approver.pak, generator.pak]) {
      expect(ok(await broker.gql<{ promotion: { id: string } }>(query, { id: ids[0] }, pak)).promotion.id).toBe(ids[0]);
      expect(ok(await broker.gql(PAGE, {}, pak)).promotions).toBeDefined();
    }
    const agent = await createAgent(broker);
    expect(errorCode(await broker.gql(query, { id: ids[0] }, agent.pak))).toBe("FORBIDDEN");
    expect(errorCode(await broker.gql(PAGE, {}, agent.pak))).toBe("FORBIDDEN");
    expect(
      errorCode(await broker.gql(`query($id: ID!) { promotionEvidenceExport(promotionId: $id) }`, { id: ids[0] }, agent.pak)),
    ).toBe("FORBIDDEN");
    expect(ok(await broker.gql<{ promotion: null }>(query, { id: "00000000-0000-4000-8000-000000000000" })).promotion).toBeNull();
  });
});
