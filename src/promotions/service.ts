import { insertDomainEvent } from "../webhooks/outbox.js";
import type { Identity } from "../auth/identity.js";
import { requireIdentity } from "../auth/policy.js";
import { type Database, type Db, inTransaction } from "../db/client.js";
import { forbidden, fromDatabaseError, notFound, preconditionFailed } from "../errors.js";
import type { EvidenceKeys } from "../evidence/signing.js";
import { recordEvidence } from "../evidence/service.js";
import { requireId } from "../validation.js";
import * as gateStore from "./gate-store.js";
import { approvalsComplete, type GateFacts, type GateVerdict, REFUSING_GATES } from "./gates.js";
import { insertPromotion, type PromotionRow } from "./store.js";

export interface PromotionDeps {
  db: Database;
  evidence: EvidenceKeys;
  identity: Identity | null;
}

/** The gates' facts for promoting `releaseId` into `environmentId`, read in `db` (a transaction). */
export async function gateFacts(db: Db, releaseId: string, environmentId: string, now = new Date()): Promise<GateFacts> {
  const [release, environment] = await Promise.all([
    gateStore.readRelease(db, releaseId),
    gateStore.readEnvironment(db, environmentId),
  ]);
  if (!release) throw notFound("release");
  if (!environment) throw notFound("environment");
  const previousEnv = await gateStore.previousEnvironment(db, environment.orderIndex);
  const previous = previousEnv
    ? { environment: previousEnv, deployment: await gateStore.latestDeployment(db, previousEnv.id) }
    : null;
  return { release, environment, previous, now };
}

/** The three refusing gates in order; the first that fails refuses (PRECONDITION_FAILED, nothing written). */
export function passRefusingGates(facts: GateFacts): GateVerdict[] {
  const verdicts: GateVerdict[] = [];
  for (const gate of REFUSING_GATES) {
    const v = gate(facts);
    if (!v.passed) throw preconditionFailed(v.name, `promotion refused by gate ${v.name}: ${v.detail}`);
    verdicts.push(v);
  }
  return verdicts;
}

/** Who may request: the admin key, ADMIN users (read-only users never get here) and generators. */
function requester(identity: Identity | null): { userId: string | null; generatorId: string | null } {
  const who = requireIdentity(identity);
  if (who.role === "GENERATOR") return { userId: null, generatorId: who.id };
  if (who.role === "ADMIN" && (!who.user || who.user.role === "ADMIN"))
    return { userId: who.user?.id ?? null, generatorId: null };
  throw forbidden("only the admin, ADMIN users and generators request promotions");
}

export async function requestPromotion(
  deps: PromotionDeps,
  input: { releaseId: string; environmentId: string },
): Promise<PromotionRow> {
  const by = requester(deps.identity);
  const releaseId = requireId("releaseId", input.releaseId);
  const environmentId = requireId("environmentId", input.environmentId);
  const signer = await deps.evidence.signer();
  try {
    return await inTransaction(deps.db, async (tx) => {
      const facts = await gateFacts(tx, releaseId, environmentId);
      const verdicts = passRefusingGates(facts);
      const required = facts.environment.requiredApprovals;
      verdicts.push(approvalsComplete(0, required, facts.now));
      const status = required === 0 ? "APPROVED" : "PENDING_APPROVAL";
      const promotion = await insertPromotion(tx, {
        releaseId,
        sourceEnvironmentId: facts.previous?.environment.id ?? null,
        targetEnvironmentId: environmentId,
        status,
        decisionRecord: verdicts,
        requestedByUserId: by.userId,
        requestedByGeneratorId: by.generatorId,
      });
      const content = { release: facts.release, environment: { id: environmentId, name: facts.environment.name } };
      await recordEvidence(tx, signer, {
        promotionId: promotion.id,
        packetType: "PROMOTION_REQUESTED",
        content: { ...content, requestedBy: by, gates: verdicts, status },
      });
      await insertDomainEvent(tx, "promotion.requested", eventData(promotion));
      if (status === "APPROVED") await approvedAtOnce(tx, signer, promotion, content, verdicts);
      return promotion;
    });
  } catch (err) {
    throw fromDatabaseError(err, "a promotion into this environment is already in flight");
  }
}

async function approvedAtOnce(
  tx: Db,
  signer: Awaited<ReturnType<EvidenceKeys["signer"]>>,
  promotion: PromotionRow,
  content: Record<string, unknown>,
  gates: GateVerdict[],
): Promise<void> {
  await recordEvidence(tx, signer, {
    promotionId: promotion.id,
    packetType: "PROMOTION_APPROVED",
    content: { ...content, gates, approvals: [] },
  });
  await insertDomainEvent(tx, "promotion.approved", eventData(promotion));
}

export function eventData(p: PromotionRow, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    promotion_id: p.id,
    release_id: p.releaseId,
    environment_id: p.targetEnvironmentId,
    status: p.status,
    ...extra,
  };
}
