import type { KeyedQueue } from "./keyed-queue.ts";
import { type KindRef, type KindRegistry, kindsOfCrd } from "./kinds.ts";
import { type ListDeps, listKind } from "./listing.ts";
import { isCrd, objectKey } from "./manifest.ts";
import { type KubernetesObject, PatchStrategy } from "./objects.ts";
import { FIELD_MANAGER, type LiveObject, STACK_LABEL, adoptionOf, isOwnedBy } from "./ownership.ts";
import { isNotFound, statusCodeOf, withTransientRetry } from "./retry.ts";

export interface TakeoverDeps extends ListDeps {
  agentId: string;
  queue: KeyedQueue;
  kinds: KindRegistry;
}

interface Sweep {
  pending: KindRef[];
  failures: unknown[];
  adopted: number;
}

const CRD: KindRef = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };
/** Another writer changed the object between our read and our patch: read again, this many times. */
const CONFLICT_ATTEMPTS = 5;

/**
 * Takes over the resources Brokkr's agent applied for this agent id. Brokkr marks them with
 * annotations only and applies as `brokkr-controller`; adopting one labels it as this agent labels
 * its own (so prune, deletion markers and untargeting find it by label like the rest) and moves
 * Brokkr's managed fields to this agent's field manager. Only objects without the stack label are
 * listed (server-side `!k8s.brokkr.io/stack`), page by page, across the kinds this agent knows and
 * those of the CRDs it finds; each patch carries the resourceVersion it was computed from.
 */
export class BrokkrTakeover {
  constructor(private readonly deps: TakeoverDeps) {}

  /**
   * Adopts every such object among the kinds it knows, `alsoKinds` (those of the target state) and
   * those of CRDs found; returns how many. Throws after trying them all if any failed.
   */
  async adopt(alsoKinds: KindRef[] = []): Promise<number> {
    const run: Sweep = { pending: [...this.deps.kinds.all(), ...alsoKinds], failures: [], adopted: 0 };
    await listKind(this.deps, CRD, STACK_LABEL, (crds) => void run.pending.push(...this.kindsOfOwned(crds)));
    const searched = new Set<string>();
    for (let ref = run.pending.shift(); ref; ref = run.pending.shift()) {
      const id = `${ref.apiVersion}|${ref.kind}`;
      if (searched.has(id)) continue;
      searched.add(id);
      // Labelled objects too: one this agent applied may have been re-applied by Brokkr's agent since.
      for (const selector of [`!${STACK_LABEL}`, STACK_LABEL])
        await listKind(this.deps, ref, selector, (items) => this.adoptPage(items, run));
    }
    if (run.adopted > 0) this.deps.logger.info({ adopted: run.adopted }, "took over resources applied by Brokkr's agent");
    if (run.failures.length > 0) throw run.failures[0];
    return run.adopted;
  }

  private async adoptPage(items: LiveObject[], run: Sweep): Promise<void> {
    for (const item of items.filter((o) => adoptionOf(o, this.deps.agentId))) {
      try {
        if (await this.adoptOne(item)) run.adopted++;
        if (isCrd(item)) run.pending.push(...kindsOfCrd(item));
      } catch (err) {
        run.failures.push(err);
        this.deps.logger.warn({ err, object: objectKey(item) }, "adopting a resource of Brokkr's agent failed");
      }
    }
  }

  private kindsOfOwned(crds: LiveObject[]): KindRef[] {
    return crds.filter((crd) => isOwnedBy(crd, this.deps.agentId)).flatMap((crd) => kindsOfCrd(crd));
  }

  private async reread(found: LiveObject): Promise<LiveObject | undefined> {
    const header = {
      apiVersion: found.apiVersion,
      kind: found.kind,
      metadata: { name: found.metadata?.name ?? "", namespace: found.metadata?.namespace },
    };
    try {
      const live = await withTransientRetry(() => this.deps.objects.read(header), this.deps.retry);
      return { ...live, apiVersion: found.apiVersion, kind: found.kind };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One merge patch: the labels, and the migrated managedFields, guarded by resourceVersion. */
  private adoptOne(found: LiveObject): Promise<boolean> {
    return this.deps.queue.run(objectKey(found), async () => {
      let obj = found;
      for (let attempt = 1; ; attempt++) {
        const adoption = adoptionOf(obj, this.deps.agentId);
        if (!adoption) return false;
        // A merge patch as read from the API: managedFields keep their JSON time strings, which
        // the client's V1ManagedFieldsEntry types as Date (it serialises either the same).
        const patch = {
          apiVersion: found.apiVersion,
          kind: found.kind,
          metadata: {
            name: obj.metadata?.name,
            namespace: obj.metadata?.namespace,
            resourceVersion: obj.metadata?.resourceVersion,
            ...adoption,
          },
        } as KubernetesObject;
        try {
          await withTransientRetry(
            () => this.deps.objects.patch(patch, undefined, undefined, FIELD_MANAGER, undefined, PatchStrategy.MergePatch),
            this.deps.retry,
          );
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          if (statusCodeOf(err) !== 409 || attempt >= CONFLICT_ATTEMPTS) throw err;
          const again = await this.reread(found);
          if (!again) return false;
          obj = again;
        }
      }
    });
  }
}
