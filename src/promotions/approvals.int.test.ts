import { beforeAll, describe, expect, it } from "vitest";
import { errorCode, ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { outboxProbe } from "../../test/domain-events.js";
import { createAgent, createGenerator } from "../../test/factories.js";
import { eventsOfPromotion, promotablePair } from "../../test/promotions.js";
import { createUser } from "../../test/users.js";
import { verifyExport } from "../evidence/verify.js";

const PROMOTION = `id status decidedAt completedAt approvals { approver { id role } action comment }
  gates { name passed detail } decisionRecord { name passed } evidence { packetType }`;

interface Promo {
  id: string;
  status: string;
  decidedAt: string | null;
  completedAt: string | null;
  approvals: { approver: { id: string; role: string }; action: string; comment: string | null }[];
  gates: { name: string; passed: boolean; detail: string }[];
  decisionRecord: { name: string; passed: boolean }[];
  evidence: { packetType: string }[];
}

let broker: TestBroker;
let approverA: { id: string; pak: string };
let approverB: { id: string; pak: string };

async function pending(opts: { requiredApprovals?: number; requireSod?: boolean; pak?: string } = {}): Promise<Promo> {
  const { environmentId, releaseId } = await promotablePair(broker, {
    requiredApprovals: opts.requiredApprovals ?? 2,
    requireSod: opts.requireSod ?? true,
  });
  return ok(
    await broker.gql<{ requestPromotion: { promotion: Promo } }>(
      `mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { promotion { ${PROMOTION} } } }`,
      { i: { releaseId, environmentId } },
      opts.pak,
    ),
  ).requestPromotion.promotion;
}

const decide = (verb: "approvePromotion" | "rejectPromotion", promotionId: string, pak: string | undefined, comment?: string) =>
  broker.gql<Record<"approvePromotion" | "rejectPromotion", { promotion: Promo }>>(
    `mutation($i: ${verb === "approvePromotion" ? "ApprovePromotionInput" : "RejectPromotionInput"}!) { ${verb}(input: $i) { promotion { ${PROMOTION} } } }`,
    { i: { promotionId, comment } },
    pak,
  );
const approve = (id: string, pak?: string, comment?: string) => decide("approvePromotion", id, pak, comment);
const reject = (id: string, pak?: string, comment?: string) => decide("rejectPromotion", id, pak, comment);

beforeAll(async () => {
  broker = await startTestBroker();
  approverA = await createUser(broker, "APPROVER");
  approverB = await createUser(broker, "APPROVER");
});

describe("approvePromotion", () => {
  it("approves once the required approvals are in, re-evaluating and recording the gates", async () => {
    const promotion = await pending();
    const first = ok(await approve(promotion.id, approverA.pak, "looks good")).approvePromotion.promotion;
    expect(first.status).toBe("PENDING_APPROVAL");
    expect(first.approvals).toEqual([
      { approver: { id: approverA.id, role: "APPROVER" }, action: "APPROVED", comment: "looks good" },
    ]);
    const probe = outboxProbe(broker.db.sql);
    let done!: Promo;
    const events = await probe.eventsDuring(async () => {
      done = ok(await approve(promotion.id, approverB.pak)).approvePromotion.promotion;
    });
    expect(done.status).toBe("APPROVED");
    expect(done.decidedAt).not.toBeNull();
    expect(done.decisionRecord).toHaveLength(8);
    expect(done.gates.map((g) => [g.name, g.passed])).toEqual([
      ["RELEASE_READY", true],
      ["PREVIOUS_ENVIRONMENT_HEALTHY", true],
      ["NO_ACTIVE_FREEZE", true],
      ["APPROVALS_COMPLETE", true],
    ]);
    expect(done.gates[3]?.detail).toBe("2 of 2 approval(s)");
    expect(done.evidence.map((e) => e.packetType)).toEqual(["PROMOTION_REQUESTED", "APPROVAL", "APPROVAL", "PROMOTION_APPROVED"]);
    expect(probe.types(eventsOfPromotion(events, done.id))).toEqual(["promotion.approved"]);
    const exported = ok(
      await broker.gql<{ promotionEvidenceExport: never }>(`query($id: ID!) { promotionEvidenceExport(promotionId: $id) }`, {
        id: promotion.id,
      }),
    ).promotionEvidenceExport;
    expect(verifyExport(exported)).toEqual({ checked: 4, failures: [] });
  });

  it("lets each approver decide once (CONFLICT), and nobody once it is decided", async () => {
    const promotion = await pending();
    ok(await approve(promotion.id, approverA.pak));
    const twice = await approve(promotion.id, approverA.pak);
    expect(errorCode(twice)).toBe("CONFLICT");
    expect(twice.errors?.[0]?.message).toBe("this approver already decided on this promotion");
    expect(errorCode(await reject(promotion.id, approverA.pak))).toBe("CONFLICT");
    ok(await approve(promotion.id, approverB.pak));
    const late = await createUser(broker, "APPROVER");
    const after = await approve(promotion.id, late.pak);
    expect(errorCode(after)).toBe("CONFLICT");
    expect(after.errors?.[0]?.message).toBe("promotion is APPROVED, not awaiting approval");
    const { rows } = await broker.db.sql.query(`SELECT count(*)::int AS n FROM promotion_approvals WHERE promotion_id = $1`, [
      promotion.id,
    ]);
    expect(rows[0].n).toBe(2);
  });

  it("refuses the requester's own approval or rejection under separation of duties", async () => {
    const requester = await createUser(broker, "ADMIN");
    const promotion = await pending({ requiredApprovals: 1, pak: requester.pak });
    for (const verb of [approve, reject]) {
      const own = await verb(promotion.id, requester.pak);
      expect(errorCode(own)).toBe("FORBIDDEN");
      expect(own.errors?.[0]?.message).toContain("separation of duties");
    }
    expect(ok(await approve(promotion.id, approverA.pak)).approvePromotion.promotion.status).toBe("APPROVED");
  });

  it("lets the requester approve when the environment does not require separation of duties", async () => {
    const requester = await createUser(broker, "ADMIN");
    const promotion = await pending({ requiredApprovals: 1, requireSod: false, pak: requester.pak });
    const done = ok(await approve(promotion.id, requester.pak)).approvePromotion.promotion;
    expect(done.status).toBe("APPROVED");
    expect(done.approvals[0]?.approver).toEqual({ id: requester.id, role: "ADMIN" });
  });

  it("is for persons only: not the admin key, a viewer, a generator or an agent", async () => {
    const promotion = await pending();
    const viewer = await createUser(broker, "VIEWER");
    const generator = await createGenerator(broker);
    const agent = await createAgent(broker);
    for (const pak of [broker.adminPak, viewer.pak, generator.pak, agent.pak]) {
      expect(errorCode(await approve(promotion.id, pak))).toBe("FORBIDDEN");
      expect(errorCode(await reject(promotion.id, pak))).toBe("FORBIDDEN");
    }
    const adminKey = await approve(promotion.id, broker.adminPak);
    expect(adminKey.errors?.[0]?.message).toContain("the admin key names nobody");
    expect(errorCode(await approve(promotion.id, null as never))).toBe("UNAUTHENTICATED");
    const admin = await createUser(broker, "ADMIN");
    expect(ok(await approve(promotion.id, admin.pak)).approvePromotion.promotion.approvals).toHaveLength(1);
  });

  it("moves to APPROVED exactly once when the last approvals arrive together", async () => {
    const promotion = await pending();
    const results = await Promise.all([approve(promotion.id, approverA.pak), approve(promotion.id, approverB.pak)]);
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined]);
    const { rows } = await broker.db.sql.query(
      `SELECT packet_type, count(*)::int AS n FROM evidence_packets WHERE promotion_id = $1 GROUP BY packet_type ORDER BY packet_type`,
      [promotion.id],
    );
    expect(rows).toEqual([
      { packet_type: "APPROVAL", n: 2 },
      { packet_type: "PROMOTION_APPROVED", n: 1 },
      { packet_type: "PROMOTION_REQUESTED", n: 1 },
    ]);
    expect(results.map((r) => r.data?.approvePromotion.promotion.status).sort()).toEqual(["APPROVED", "PENDING_APPROVAL"]);
  });

  it("takes a comment of at most 4096 characters", async () => {
    const promotion = await pending();
    const long = await approve(promotion.id, approverA.pak, "x".repeat(4097));
    expect(errorCode(long)).toBe("BAD_USER_INPUT");
    expect(long.errors?.[0]?.extensions?.field).toBe("comment");
    const fits = ok(await approve(promotion.id, approverA.pak, "x".repeat(4096))).approvePromotion.promotion;
    expect(fits.approvals[0]?.comment).toHaveLength(4096);
  });

  it("answers NOT_FOUND for an unknown promotion", async () => {
    expect(errorCode(await approve("00000000-0000-4000-8000-000000000000", approverA.pak))).toBe("NOT_FOUND");
  });
});

describe("rejectPromotion", () => {
  it("ends the promotion at once, with evidence and an event, and frees the environment", async () => {
    const promotion = await pending();
    ok(await approve(promotion.id, approverA.pak));
    const probe = outboxProbe(broker.db.sql);
    let rejected!: Promo;
    const events = await probe.eventsDuring(async () => {
      rejected = ok(await reject(promotion.id, approverB.pak, "not this week")).rejectPromotion.promotion;
    });
    expect(rejected.status).toBe("REJECTED");
    expect(rejected.completedAt).not.toBeNull();
    expect(rejected.approvals.map((a) => a.action)).toEqual(["APPROVED", "REJECTED"]);
    expect(rejected.evidence.map((e) => e.packetType)).toEqual(["PROMOTION_REQUESTED", "APPROVAL", "REJECTION"]);
    const own = eventsOfPromotion(events, promotion.id);
    expect(probe.types(own)).toEqual(["promotion.rejected"]);
    expect(own[0]?.data).toMatchObject({
      promotion_id: promotion.id,
      status: "REJECTED",
      approver_id: approverB.id,
      comment: "not this week",
    });
    const late = await createUser(broker, "APPROVER");
    expect(errorCode(await approve(promotion.id, late.pak))).toBe("CONFLICT");
  });
});
