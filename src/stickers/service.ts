import { insertDomainEvent } from "../webhooks/outbox.js";
import { isDeepStrictEqual } from "node:util";
import type { Identity } from "../auth/identity.js";
import { requireIdentity } from "../auth/policy.js";
import { type Database, type Db, inTransaction } from "../db/client.js";
import { BrokkrError, badInput, conflict, forbidden } from "../errors.js";
import type { ReportDriftInput, ReportVersionStickerInput } from "../generated/graphql.js";
import { requireId, requireText } from "../validation.js";
import { requireContentHash, requireDriftItems, requireStickerContent, requireWrittenAt } from "./input.js";
import * as store from "./store.js";
import type { DriftItemRow, StickerRow, TaskRow } from "./store.js";

export const DRIFT_DETECTED = "release.drift_detected";
export const DRIFT_RESOLVED = "release.drift_resolved";

function requireAgent(identity: Identity | null): string {
  const who = requireIdentity(identity);
  if (who.role !== "AGENT") throw forbidden("only agents report version stickers and drift");
  return who.id;
}

/**
 * The caller's own task, succeeded. Another agent's task and a missing one are alike FORBIDDEN
 * (existence does not leak). A task still DELIVERED counts once the agent's newest report on its
 * object is SUCCESS: the agent writes its sticker right after that report, usually before the
 * rollout runner's next run folds it in; before that report it is a CONFLICT the agent retries.
 * Any other status is no task to put a sticker on.
 */
async function ownSucceededTask(db: Db, agentId: string, taskId: string): Promise<TaskRow & { deploymentObjectId: string }> {
  const task = await store.findTask(db, requireId("input.taskId", taskId));
  if (!task || task.agentId !== agentId) throw forbidden("not a task of this agent");
  if (task.status === "DELIVERED" && !task.reportedSuccess)
    throw conflict("the task has not succeeded yet; report again once it has");
  if (task.status === "DELIVERED") return { ...task, deploymentObjectId: task.deploymentObjectId as string };
  if (task.status !== "SUCCEEDED" || !task.deploymentObjectId)
    throw badInput("input.taskId", `the task is ${task.status}: only a succeeded task gets a version sticker`);
  return { ...task, deploymentObjectId: task.deploymentObjectId };
}

async function stickerOrThrow(db: Db, id: string): Promise<StickerRow> {
  const row = await store.findSticker(db, id);
  if (!row) throw new BrokkrError("INTERNAL_SERVER_ERROR", "the version sticker just written is missing");
  return row;
}

export async function reportVersionSticker(
  db: Database,
  identity: Identity | null,
  input: ReportVersionStickerInput,
): Promise<StickerRow> {
  const agentId = requireAgent(identity);
  const content = requireStickerContent(input.content);
  const contentHash = requireContentHash(input.contentHash);
  const writtenAt = requireWrittenAt(input.writtenAt);
  return inTransaction(db, async (tx) => {
    const task = await ownSucceededTask(tx, agentId, input.taskId);
    const id = await store.upsertSticker(tx, { task, content, contentHash, writtenAt });
    return stickerOrThrow(tx, id);
  });
}

function driftInput(input: ReportDriftInput): { items: DriftItemRow[]; healed: boolean } {
  const items = requireDriftItems(input.items);
  const healed = input.healed ?? false;
  if (input.drifted && items.length === 0) throw badInput("input.items", "a drift report names what drifted");
  if (!input.drifted && items.length > 0) throw badInput("input.items", "items are given only when drifted");
  if (healed && !input.drifted) throw badInput("input.healed", "only drift can be healed");
  return { items, healed };
}

/**
 * Records a drift check on the task's sticker and publishes, in the same transaction,
 * release.drift_detected when drift is new (or other than recorded) and release.drift_resolved
 * when recorded drift cleared or the agent healed it. A repeated report of the same state
 * (the agent's periodic confirmation) publishes nothing.
 */
export async function reportDrift(db: Database, identity: Identity | null, input: ReportDriftInput): Promise<StickerRow> {
  const agentId = requireAgent(identity);
  const { items, healed } = driftInput(input);
  return inTransaction(db, async (tx) => {
    const task = await ownSucceededTask(tx, agentId, input.taskId);
    const prev = await store.lockStickerOfTask(tx, task.id);
    if (!prev) throw conflict("report the version sticker of this task before its drift");
    const detected = input.drifted && !healed;
    await store.updateDrift(tx, prev.id, { detected, details: items, healed });
    const data = {
      sticker_id: prev.id,
      agent_id: agentId,
      environment_id: task.environmentId,
      release_id: task.releaseId,
      promotion_id: task.promotionId,
      task_id: task.id,
      deployment_object_id: task.deploymentObjectId,
      items,
      healed,
    };
    if (input.drifted && (!prev.driftDetected || !isDeepStrictEqual(prev.driftDetails, items)))
      await insertDomainEvent(tx, DRIFT_DETECTED, data, agentId);
    if (!detected && (prev.driftDetected || healed)) await insertDomainEvent(tx, DRIFT_RESOLVED, data, agentId);
    return stickerOrThrow(tx, prev.id);
  });
}

export interface StickerQuery {
  environmentId?: string | null;
  driftDetected?: boolean | null;
  first: number;
  after?: string;
}

/** Admin and users read every current sticker; an agent its own; generators none. */
export async function listVersionStickers(db: Db, identity: Identity | null, q: StickerQuery): Promise<StickerRow[]> {
  const who = requireIdentity(identity);
  if (who.role === "GENERATOR") throw forbidden("generators do not read version stickers");
  return store.currentStickers(db, {
    agentIds: who.role === "AGENT" ? [who.id] : undefined,
    environmentId: q.environmentId ? requireId("environmentId", q.environmentId) : undefined,
    driftDetected: q.driftDetected ?? undefined,
    afterId: q.after ? requireId("after", requireText("after", q.after, 64)) : undefined,
    limit: q.first,
  });
}
