import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, type GraphQLResult, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { outboxProbe } from "../../test/domain-events.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import {
  eventsOfPromotion,
  insertDeployment,
  insertEnvironment,
  insertRelease,
  nextOrderPair,
  promotablePair,
} from "../../test/promotions.js";
import { createUser } from "../../test/users.js";
import { verifyExport } from "../evidence/verify.js";

const REQUEST = `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion {
  id status requestedBy { user { id } generator { id } }
  gates { name passed detail inputs evaluatedAt } decisionRecord { name passed }
  evidence { packetType contentHash signature signerKeyId } } } }`;

interface Promo {
  id: string;
  status: string;
  requestedBy: { user: { id: string } | null; generator: { id: string } | null };
  gates: { name: string; passed: boolean; detail: string; inputs: Record<string, unknown>; evaluatedAt: string }[];
  decisionRecord: { name: string; passed: boolean }[];
  evidence: { packetType: string }[];
}

let broker: TestBroker;
const request = (releaseId: string, environmentId: string, pak?: string) =>
  broker.gql<{ requestPromotion: { promotion: Promo } }>(REQUEST, { i: { releaseId, environmentId } }, pak);
const gateOf = (r: GraphQLResult) => (r.errors?.[0]?.extensions as { gate?: string } | undefined)?.gate;

async function counts() {
  const { rows } = await broker.db.sql.query(
    `SELECT (SELECT count(*) FROM promotions)::int AS p, (SELECT count(*) FROM evidence_packets)::int AS e,
            (SELECT count(*) FROM domain_events WHERE event_type LIKE 'promotion.%')::int AS d`,
  );
  return rows[0];
}

/** Refused by `gate`, and nothing at all written. */
async function expectRefusedBy(gate: string, releaseId: string, environmentId: string) {
  const before = await counts();
  const result = await request(releaseId, environmentId);
  expect(errorCode(result)).toBe("PRECONDITION_FAILED");
  expect(gateOf(result)).toBe(gate);
  expect(result.errors?.[0]?.message).toContain(gate);
  expect(await counts()).toEqual(before);
  return result.errors?.[0]?.message ?? "";
}

beforeAll(async () => {
  broker = await startTestBroker();
});

describe("requestPromotion", () => {
  it("approves at once when none are required, recording the gates in order, evidence and events", async () => {
    const { environmentId, releaseId, previousId } = await promotablePair(broker);
    const probe = outboxProbe(broker.db.sql);
    let promotion!: Promo;
    const events = await probe.eventsDuring(async () => {
      promotion = ok(await request(releaseId, environmentId)).requestPromotion.promotion;
    });
    expect(promotion.status).toBe("APPROVED");
    expect(promotion.gates.map((g) => [g.name, g.passed])).toEqual([
      ["RELEASE_READY", true],
      ["PREVIOUS_ENVIRONMENT_HEALTHY", true],
      ["NO_ACTIVE_FREEZE", true],
      ["APPROVALS_COMPLETE", true],
    ]);
    expect(promotion.gates[1]?.inputs).toMatchObject({ previousEnvironmentId: previousId, latestJob: { status: "SUCCEEDED" } });
    expect(promotion.gates[3]?.detail).toBe("no approvals required");
    expect(promotion.requestedBy).toEqual({ user: null, generator: null });
    expect(promotion.evidence.map((e) => e.packetType)).toEqual(["PROMOTION_REQUESTED", "PROMOTION_APPROVED"]);
    const own = eventsOfPromotion(events, promotion.id);
    expect(probe.types(own)).toEqual(["promotion.requested", "promotion.approved"]);
    expect(own[0]?.data).toEqual({
      promotion_id: promotion.id,
      release_id: releaseId,
      environment_id: environmentId,
      status: "APPROVED",
    });
    const exported = ok(
      await broker.gql<{ promotionEvidenceExport: never }>(`query($id: ID!) { promotionEvidenceExport(promotionId: $id) }`, {
        id: promotion.id,
      }),
    ).promotionEvidenceExport;
    expect(verifyExport(exported)).toEqual({ checked: 2, failures: [] });
  });

  it("waits for approvals when the environment requires them", async () => {
    const { environmentId, releaseId } = await promotablePair(broker, { requiredApprovals: 2 });
    const promotion = ok(await request(releaseId, environmentId)).requestPromotion.promotion;
    expect(promotion.status).toBe("PENDING_APPROVAL");
    expect(promotion.gates.at(-1)).toMatchObject({ name: "APPROVALS_COMPLETE", passed: false, detail: "0 of 2 approval(s)" });
    expect(promotion.evidence.map((e) => e.packetType)).toEqual(["PROMOTION_REQUESTED"]);
  });

  it("passes PREVIOUS_ENVIRONMENT_HEALTHY as the first environment when none comes before", async () => {
    const environmentId = await insertEnvironment(broker.db.sql, { orderIndex: 0 });
    const { releaseId } = await insertRelease(broker.db.sql, "DEPLOYED");
    const promotion = ok(await request(releaseId, environmentId)).requestPromotion.promotion;
    expect(promotion.gates[1]).toMatchObject({ name: "PREVIOUS_ENVIRONMENT_HEALTHY", passed: true, detail: "first environment" });
  });

  it("refuses a release that is not READY or DEPLOYED with RELEASE_READY", async () => {
    for (const status of ["DRAFT", "DEPRECATED"] as const) {
      const { environmentId } = await promotablePair(broker);
      const { releaseId } = await insertRelease(broker.db.sql, status);
      expect(await expectRefusedBy("RELEASE_READY", releaseId, environmentId)).toContain(`is ${status}, not READY`);
    }
  });

  describe("PREVIOUS_ENVIRONMENT_HEALTHY", () => {
    async function pairWith(deploy: (previousId: string, releaseId: string) => Promise<unknown>) {
      const [prev, target] = nextOrderPair();
      const previousId = await insertEnvironment(broker.db.sql, { orderIndex: prev });
      const environmentId = await insertEnvironment(broker.db.sql, { orderIndex: target });
      const { releaseId } = await insertRelease(broker.db.sql);
      await deploy(previousId, releaseId);
      return { environmentId, releaseId };
    }
    const refused = async (deploy: (previousId: string, releaseId: string) => Promise<unknown>) => {
      const { environmentId, releaseId } = await pairWith(deploy);
      return expectRefusedBy("PREVIOUS_ENVIRONMENT_HEALTHY", releaseId, environmentId);
    };

    it("refuses a release never deployed in the previous environment", async () => {
      expect(await refused(async () => {})).toContain("was never deployed there");
    });

    it("refuses when the previous environment's latest job of the release failed", async () => {
      const message = await refused((environmentId, releaseId) =>
        insertDeployment(broker, { environmentId, releaseId, jobStatus: "FAILED" }),
      );
      expect(message).toContain("is FAILED");
    });

    it("refuses when a later job of another release replaced it there", async () => {
      const message = await refused(async (environmentId, releaseId) => {
        await insertDeployment(broker, { environmentId, releaseId });
        const other = await insertRelease(broker.db.sql);
        await insertDeployment(broker, { environmentId, releaseId: other.releaseId });
      });
      expect(message).toContain("latest job is of another release");
    });

    it("refuses when a task of the job did not succeed", async () => {
      const message = await refused((environmentId, releaseId) =>
        insertDeployment(broker, { environmentId, releaseId, tasks: [{}, { status: "FAILED" }] }),
      );
      expect(message).toContain("1 of 2 agent(s) did not succeed");
    });

    it("refuses when an agent reports failing or degraded health for its object", async () => {
      for (const health of ["failing", "degraded"]) {
        const message = await refused((environmentId, releaseId) =>
          insertDeployment(broker, { environmentId, releaseId, tasks: [{ health: "healthy" }, { health }] }),
        );
        expect(message).toContain("1 agent(s) report failing or degraded health");
      }
    });

    it("passes when every task succeeded and every agent is healthy", async () => {
      const { environmentId, releaseId } = await pairWith((previousId, id) =>
        insertDeployment(broker, { environmentId: previousId, releaseId: id, tasks: [{ health: "healthy" }, {}] }),
      );
      const gate = ok(await request(releaseId, environmentId)).requestPromotion.promotion.gates[1];
      expect(gate).toMatchObject({ passed: true, inputs: { tasks: 2, succeededTasks: 2, unhealthy: [] } });
    });
  });

  describe("NO_ACTIVE_FREEZE", () => {
    const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
    const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
    const allWeek = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

    it("refuses during an absolute window, naming its reason", async () => {
      const { environmentId, releaseId } = await promotablePair(broker, {
        freezeWindows: [{ start: hourAgo(), end: inAnHour(), reason: "year-end close" }],
      });
      expect(await expectRefusedBy("NO_ACTIVE_FREEZE", releaseId, environmentId)).toContain("year-end close");
    });

    it("refuses during a recurring window read in the environment's zone", async () => {
      const { environmentId, releaseId } = await promotablePair(broker, {
        timeZone: "Asia/Kolkata",
        freezeWindows: [{ days: allWeek, startTime: "00:00", endTime: "00:00", reason: "always" }],
      });
      await expectRefusedBy("NO_ACTIVE_FREEZE", releaseId, environmentId);
    });

    it("passes when every window is over", async () => {
      const { environmentId, releaseId } = await promotablePair(broker, {
        freezeWindows: [{ start: "2020-01-01T00:00:00Z", end: "2020-01-02T00:00:00Z" }],
      });
      expect(ok(await request(releaseId, environmentId)).requestPromotion.promotion.gates[2]?.passed).toBe(true);
    });

    it("evaluates the gates in order: the first failing one is named", async () => {
      const { environmentId } = await promotablePair(broker, { freezeWindows: [{ start: hourAgo(), end: inAnHour() }] });
      const { releaseId } = await insertRelease(broker.db.sql, "DRAFT");
      await expectRefusedBy("RELEASE_READY", releaseId, environmentId);
    });
  });

  it("allows one promotion in flight per environment (CONFLICT)", async () => {
    const { environmentId, releaseId } = await promotablePair(broker, { requiredApprovals: 1 });
    ok(await request(releaseId, environmentId));
    const before = await counts();
    const second = await request(releaseId, environmentId);
    expect(errorCode(second)).toBe("CONFLICT");
    expect(second.errors?.[0]?.message).toBe("a promotion into this environment is already in flight");
    expect(await counts()).toEqual(before);
  });

  it("lets one of two simultaneous requests into an environment win", async () => {
    const { environmentId, releaseId } = await promotablePair(broker, { requiredApprovals: 1 });
    const results = await Promise.all([request(releaseId, environmentId), request(releaseId, environmentId)]);
    expect(results.map((r) => errorCode(r) ?? "OK").sort()).toEqual(["CONFLICT", "OK"]);
    const { rows } = await broker.db.sql.query(
      `SELECT count(*)::int AS n FROM promotions p JOIN evidence_packets e ON e.promotion_id = p.id WHERE p.target_environment_id = $1`,
      [environmentId],
    );
    expect(rows[0].n).toBe(1);
  });

  it("is for the admin, ADMIN users and generators only", async () => {
    const generator = await createGenerator(broker);
    const pair = await promotablePair(broker);
    const byGenerator = ok(await request(pair.releaseId, pair.environmentId, generator.pak)).requestPromotion.promotion;
    expect(byGenerator.requestedBy).toEqual({ user: null, generator: { id: generator.id } });
    const admin = await createUser(broker, "ADMIN");
    const other = await promotablePair(broker);
    const byUser = ok(await request(other.releaseId, other.environmentId, admin.pak)).requestPromotion.promotion;
    expect(byUser.requestedBy).toEqual({ user: { id: admin.id }, generator: null });
    const third = await promotablePair(broker);
    for (const role of ["VIEWER", "APPROVER"] as const) {
      const user = await createUser(broker, role);
      expect(errorCode(await request(third.releaseId, third.environmentId, user.pak))).toBe("FORBIDDEN");
    }
    const agent = await createAgent(broker);
    expect(errorCode(await request(third.releaseId, third.environmentId, agent.pak))).toBe("FORBIDDEN");
    expect(errorCode(await request(third.releaseId, third.environmentId, null as never))).toBe("UNAUTHENTICATED");
  });

  it("answers NOT_FOUND for an unknown release or environment and BAD_USER_INPUT for a malformed id", async () => {
    const { environmentId, releaseId } = await promotablePair(broker);
    const missing = "00000000-0000-4000-8000-000000000000";
    expect(errorCode(await request(missing, environmentId))).toBe("NOT_FOUND");
    expect(errorCode(await request(releaseId, missing))).toBe("NOT_FOUND");
    const bad = await request("nope", environmentId);
    expect(errorCode(bad)).toBe("BAD_USER_INPUT");
    expect(bad.errors?.[0]?.extensions?.field).toBe("releaseId");
  });
});
