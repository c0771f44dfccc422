import type { Identity } from "../auth/identity.js";
import { missingOrHidden, requireIdentity } from "../auth/policy.js";
import type { Db } from "../db/client.js";
import { badInput, forbidden } from "../errors.js";
import { decodeNameIdCursor, encodeCursor, pageArgs, toConnection } from "../graphql/pagination.js";
import { requireId } from "../validation.js";
import { findPromotion, listPromotions, type PromotionRow, type PromotionStatus } from "./store.js";

const STATUSES: readonly PromotionStatus[] = [
  "PENDING_APPROVAL",
  "APPROVED",
  "DEPLOYING",
  "DEPLOYED",
  "FAILED",
  "REJECTED",
  "ROLLED_BACK",
];
const CURSOR_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** Who reads promotions: the admin key, every user, and generators (agents see none). */
export function requirePromotionReader(identity: Identity | null): Identity {
  const who = requireIdentity(identity);
  if (who.role === "AGENT") throw forbidden("agents do not read promotions");
  return who;
}

export interface RequesterModel {
  userId: string | null;
  generatorId: string | null;
}

export async function getPromotion(db: Db, identity: Identity | null, id: string): Promise<PromotionRow | null> {
  requirePromotionReader(identity);
  return (await findPromotion(db, requireId("id", id))) ?? null;
}

/** For promotionProgress: admin and users, or the generator that requested it. */
export async function promotionToWatch(db: Db, identity: Identity | null, id: string): Promise<PromotionRow> {
  const who = requirePromotionReader(identity);
  const promotion = await findPromotion(db, requireId("promotionId", id));
  if (!promotion) throw missingOrHidden(who, "promotion");
  if (who.role === "GENERATOR" && promotion.requestedByGeneratorId !== who.id) throw forbidden();
  return promotion;
}

export async function listPromotionPage(
  db: Db,
  identity: Identity | null,
  args: {
    status?: string | null;
    environmentId?: string | null;
    releaseId?: string | null;
    first?: number | null;
    after?: string | null;
  },
) {
  requirePromotionReader(identity);
  const page = pageArgs(args.first, args.after);
  if (args.status && !STATUSES.includes(args.status as PromotionStatus)) throw badInput("status", "unknown status");
  const before = page.after ? decodeNameIdCursor(page.after) : undefined;
  if (before && !CURSOR_TIME.test(before[0])) throw badInput("after", "after is not a cursor returned by this API");
  const rows = await listPromotions(db, {
    status: (args.status as PromotionStatus | null) ?? undefined,
    environmentId: args.environmentId ? requireId("environmentId", args.environmentId) : undefined,
    releaseId: args.releaseId ? requireId("releaseId", args.releaseId) : undefined,
    before,
    limit: page.first + 1,
  });
  return toConnection(rows, page.first, (r) => encodeCursor([r.cursorAt, r.id]));
}
