import { insertDomainEvent } from "../webhooks/outbox.js";
import type { UserIdentity } from "../auth/identity.js";
import { requireIdentity } from "../auth/policy.js";
import { type Db, inTransaction } from "../db/client.js";
import { badInput, conflict, forbidden, fromDatabaseError, notFound } from "../errors.js";
import type { EvidenceSigner } from "../evidence/keys.js";
import { recordEvidence } from "../evidence/service.js";
import { requireId } from "../validation.js";
import { approvalsComplete, REFUSING_GATES } from "./gates.js";
import { eventData, gateFacts, type PromotionDeps } from "./service.js";
import { type ApprovalRow, approvalsOfPromotions, decide, findPromotion, insertApproval, type PromotionRow } from "./store.js";

export const MAX_COMMENT_LENGTH = 4096;
type Action = ApprovalRow["action"];

/** A person: a user key of role APPROVER or ADMIN. The admin key names nobody, so it may not decide. */
function approver(deps: PromotionDeps): UserIdentity {
  const who = requireIdentity(deps.identity);
  if (who.role !== "ADMIN") throw forbidden("only APPROVER and ADMIN users approve or reject promotions");
  if (!who.user) throw forbidden("the admin key names nobody: approve or reject with a user key");
  if (who.user.role !== "APPROVER" && who.user.role !== "ADMIN")
    throw forbidden("only APPROVER and ADMIN users approve or reject promotions");
  return who.user;
}

function checkedComment(comment: string | null | undefined): string | null {
  if (comment === undefined || comment === null) return null;
  if (comment.length > MAX_COMMENT_LENGTH) throw badInput("comment", `comment is at most ${MAX_COMMENT_LENGTH} characters`);
  return comment;
}

/**
 * One approval or rejection, in one transaction with its evidence packet and outbox event. The
 * promotion row is locked first, so concurrent approvals count each other: exactly one of them
 * sees the approvals complete and moves the promotion to APPROVED.
 */
export async function decideOnPromotion(
  deps: PromotionDeps,
  input: { promotionId: string; comment?: string | null },
  action: Action,
): Promise<PromotionRow> {
  const user = approver(deps);
  const promotionId = requireId("promotionId", input.promotionId);
  const comment = checkedComment(input.comment);
  const signer = await deps.evidence.signer();
  try {
    return await inTransaction(deps.db, async (tx) => {
      const promotion = await findPromotion(tx, promotionId, true);
      if (!promotion) throw notFound("promotion");
      if (promotion.status !== "PENDING_APPROVAL") throw conflict(`promotion is ${promotion.status}, not awaiting approval`);
      const facts = await gateFacts(tx, promotion.releaseId, promotion.targetEnvironmentId);
      if (facts.environment.requireSod && promotion.requestedByUserId === user.id)
        throw forbidden("separation of duties: the requester may not approve or reject their own promotion");
      const approval = await insertApproval(tx, { promotionId, approverId: user.id, action, comment }).catch((err) => {
        throw fromDatabaseError(err, "this approver already decided on this promotion");
      });
      await recordEvidence(tx, signer, {
        promotionId,
        packetType: action === "APPROVED" ? "APPROVAL" : "REJECTION",
        content: { approval: { ...approval, createdAt: approval.createdAt.toISOString() }, approverRole: user.role },
      });
      if (action === "REJECTED") return reject(tx, promotion, approval);
      return afterApproval(tx, signer, promotion, facts);
    });
  } catch (err) {
    throw fromDatabaseError(err);
  }
}

async function reject(tx: Db, promotion: PromotionRow, approval: ApprovalRow): Promise<PromotionRow> {
  const rejected = await decide(tx, promotion.id, "PENDING_APPROVAL", "REJECTED", []);
  if (!rejected) throw conflict("promotion is no longer awaiting approval");
  await insertDomainEvent(
    tx,
    "promotion.rejected",
    eventData(rejected, { approver_id: approval.approverId, comment: approval.comment }),
  );
  return rejected;
}

/** Approvals complete: the gates are evaluated again and recorded with the decision. */
async function afterApproval(
  tx: Db,
  signer: EvidenceSigner,
  promotion: PromotionRow,
  facts: Awaited<ReturnType<typeof gateFacts>>,
): Promise<PromotionRow> {
  const approvals = await approvalsOfPromotions(tx, [promotion.id]);
  const approved = approvals.filter((a) => a.action === "APPROVED");
  const required = facts.environment.requiredApprovals;
  if (approved.length < required) return promotion;
  // Recorded, not refusing: the approvers have decided; the runner waits out a freeze before deploying.
  const verdicts = [...REFUSING_GATES.map((gate) => gate(facts)), approvalsComplete(approved.length, required, facts.now)];
  const decided = await decide(tx, promotion.id, "PENDING_APPROVAL", "APPROVED", verdicts);
  if (!decided) throw conflict("promotion is no longer awaiting approval");
  await recordEvidence(tx, signer, {
    promotionId: promotion.id,
    packetType: "PROMOTION_APPROVED",
    content: {
      release: facts.release,
      environment: { id: facts.environment.id, name: facts.environment.name },
      gates: verdicts,
      approvals: approved.map((a) => ({
        id: a.id,
        approverId: a.approverId,
        comment: a.comment,
        createdAt: a.createdAt.toISOString(),
      })),
    },
  });
  await insertDomainEvent(tx, "promotion.approved", eventData(decided));
  return decided;
}

export const approvePromotion = (deps: PromotionDeps, input: { promotionId: string; comment?: string | null }) =>
  decideOnPromotion(deps, input, "APPROVED");
export const rejectPromotion = (deps: PromotionDeps, input: { promotionId: string; comment?: string | null }) =>
  decideOnPromotion(deps, input, "REJECTED");
