import type { Logger } from "pino";
import type { AgentObjectApi } from "./client.ts";
import type { KeyedQueue } from "./keyed-queue.ts";
import { type KindRef, type KindRegistry, kindsOfCrd } from "./kinds.ts";
import { isCrd, objectKey, orderForDelete } from "./manifest.ts";
import { STACK_LABEL, isOwnedBy, selectPrunable, type LiveObject } from "./ownership.ts";
import { type ListDeps, listKind } from "./listing.ts";
import { type RetryOptions, isNotFound, withTransientRetry } from "./retry.ts";

export interface PrunerDeps extends ListDeps {
  agentId: string;
  queue: KeyedQueue;
  kinds: KindRegistry;
}

/** Finds a stack's live objects by label and deletes the ones this agent owns and no longer wants. */
export class StackPruner {
  constructor(private readonly deps: PrunerDeps) {}

  /** Deletes the stack's owned objects whose checksum differs from `keepChecksum` (all when null). */
  async prune(stackId: string, keepChecksum: string | null): Promise<number> {
    const live = await this.listStackObjects(stackId);
    const doomed = orderForDelete(selectPrunable(live, stackId, this.deps.agentId, keepChecksum));
    for (const obj of doomed) await this.deleteObject(obj);
    if (doomed.length > 0) {
      this.deps.logger.info({ stackId, deleted: doomed.map(objectKey) }, "pruned stack resources");
    }
    return doomed.length;
  }

  async listStackObjects(stackId: string): Promise<LiveObject[]> {
    return this.listLabelled(`${STACK_LABEL}=${stackId}`);
  }

  /** Ids of the stacks with at least one live object this agent owns, across the kinds it knows. */
  async ownedStackIds(): Promise<string[]> {
    const live = await this.listLabelled(STACK_LABEL);
    const ids = live.filter((obj) => isOwnedBy(obj, this.deps.agentId)).map((obj) => obj.metadata?.labels?.[STACK_LABEL]);
    return [...new Set(ids.filter((id): id is string => !!id))].sort();
  }

  private async listLabelled(selector: string): Promise<LiveObject[]> {
    const found: LiveObject[] = [];
    const searched = new Set<string>();
    const search = async (kinds: KindRef[]) => {
      for (const ref of kinds) {
        const id = `${ref.apiVersion}|${ref.kind}`;
        if (searched.has(id)) continue;
        searched.add(id);
        await listKind(this.deps, ref, selector, (items) => void found.push(...items));
      }
    };
    await search(this.deps.kinds.all());
    await search(found.filter(isCrd).flatMap((crd) => kindsOfCrd(crd)));
    return found;
  }

  private async deleteObject(obj: LiveObject): Promise<void> {
    const header = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace },
    };
    await this.deps.queue.run(objectKey(obj), async () => {
      try {
        await withTransientRetry(() => this.deps.objects.delete(header), this.deps.retry);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
  }
}
