import { type BrokerHttp, BrokerHttpError, graphqlRequest } from "../broker/http.ts";
import { type DriftPolicy, ReportDriftDocument, ReportVersionStickerDocument } from "../generated/operations.ts";
import type { DriftItem } from "./drift.ts";
import type { StickerContent } from "./sticker.ts";

/** The task has not succeeded yet (the rollout runner folds the agent's SUCCESS in on its next run). */
export const isNotYet = (err: unknown) => err instanceof BrokerHttpError && err.code === "CONFLICT";

/** reportVersionSticker and reportDrift over GraphQL; each answer carries the environment's current drift policy. */
export class StickerBroker {
  constructor(private readonly http: BrokerHttp) {}

  async reportSticker(taskId: string, content: StickerContent, contentHash: string, writtenAt: Date): Promise<DriftPolicy> {
    const data = await graphqlRequest(this.http, ReportVersionStickerDocument, {
      input: { taskId, content, contentHash, writtenAt: writtenAt.toISOString() },
    });
    return data.reportVersionSticker.sticker.environment.driftPolicy;
  }

  async reportDrift(taskId: string, items: DriftItem[], healed: boolean): Promise<DriftPolicy> {
    const data = await graphqlRequest(this.http, ReportDriftDocument, {
      input: { taskId, drifted: items.length > 0, items, healed },
    });
    return data.reportDrift.sticker.environment.driftPolicy;
  }
}
