import type { Logger } from "pino";
import { z } from "zod";
import type { AgentObjectApi } from "./client.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { type KindRef, KindRegistry } from "./kinds.ts";
import { type Manifest, isCrd, objectKey, orderForApply, orderForDelete, parseManifests } from "./manifest.ts";
import { type KubernetesObject, PatchStrategy } from "./objects.ts";
import { FIELD_MANAGER, checksumOf, stampOwnership } from "./ownership.ts";
import { StackPruner } from "./pruner.ts";
import { DEFAULT_RETRY, type RetryOptions, isNotFound, withTransientRetry } from "./retry.ts";
import { BrokkrTakeover } from "./takeover.ts";

/** A CustomResourceDefinition's conditions, as far as waiting for Established reads them. */
const CrdConditions = z.object({
  status: z
    .object({ conditions: z.array(z.object({ type: z.string().optional(), status: z.string().optional() })).optional() })
    .optional(),
});

/** The kinds of a deployment object's documents; one that does not parse has none (its apply fails later). */
function kindsIn(yamlContent: string): KindRef[] {
  try {
    return parseManifests(yamlContent).map(({ apiVersion, kind }) => ({ apiVersion, kind }));
  } catch {
    return [];
  }
}

/** An object to apply; deletion markers never get here (the Reconciler deletes the stack instead). */
export interface DeploymentObjectInput {
  id: string;
  stackId: string;
  yamlContent: string;
  yamlChecksum: string;
}

export interface ApplyOutcome {
  status: "applied" | "unchanged" | "deleted";
  applied: number;
  pruned: number;
}

export interface KubeApplierOptions {
  objects: AgentObjectApi;
  agentId: string;
  defaultNamespace: string;
  logger: Logger;
  retry?: RetryOptions;
  crdTimeoutMs?: number;
  crdPollMs?: number;
  now?: () => Date;
  /** Objects per LIST page when searching the cluster (default 500). */
  listPageSize?: number;
}

/**
 * Applies deployment objects to the cluster and removes what stacks no longer hold. It carries
 * out the Reconciler's decisions and keeps no record of what it applied: the live objects' checksum
 * annotations say it.
 */
export class KubeApplier {
  private readonly queue = new KeyedQueue();
  private readonly kinds = new KindRegistry();
  private readonly pruner: StackPruner;
  private readonly takeover: BrokkrTakeover;
  private readonly retry: RetryOptions;

  constructor(private readonly options: KubeApplierOptions) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    // The pruner and the take-over list and write the same cluster through the same queue.
    const cluster = {
      objects: options.objects,
      agentId: options.agentId,
      queue: this.queue,
      kinds: this.kinds,
      retry: this.retry,
      logger: options.logger,
      pageSize: options.listPageSize,
    };
    this.pruner = new StackPruner(cluster);
    this.takeover = new BrokkrTakeover(cluster);
  }

  async apply(obj: DeploymentObjectInput): Promise<ApplyOutcome> {
    const manifests = orderForApply(parseManifests(obj.yamlContent));
    if (await this.liveMatches(manifests, obj.yamlChecksum)) {
      const pruned = await this.pruner.prune(obj.stackId, obj.yamlChecksum);
      return { status: "unchanged", applied: 0, pruned };
    }
    await this.applyStamped(manifests, obj);
    const pruned = await this.pruner.prune(obj.stackId, obj.yamlChecksum);
    return { status: "applied", applied: manifests.length, pruned };
  }

  /**
   * Applies the object whatever the live objects' checksums say, taking back any field another
   * manager took (force): healing drift (agent/stickers). Prunes nothing. Returns how many it applied.
   */
  async reapply(obj: DeploymentObjectInput): Promise<number> {
    const manifests = orderForApply(parseManifests(obj.yamlContent));
    await this.applyStamped(manifests, obj);
    return manifests.length;
  }

  private async applyStamped(manifests: Manifest[], obj: DeploymentObjectInput): Promise<void> {
    const appliedAt = (this.options.now ?? (() => new Date()))();
    for (const manifest of manifests) {
      const stamped = stampOwnership(await this.resolve(manifest), {
        stackId: obj.stackId,
        deploymentObjectId: obj.id,
        checksum: obj.yamlChecksum,
        agentId: this.options.agentId,
        appliedAt,
      });
      await this.serverSideApply(stamped);
      if (isCrd(stamped)) await this.waitEstablished(stamped.metadata.name);
    }
  }

  /**
   * Server-side applies manifests outside any stack (work orders, agent/work-orders): the same
   * order, field manager, namespace default and transient retry as a deployment, no pruning.
   */
  async applyManifests(manifests: Manifest[]): Promise<number> {
    for (const manifest of orderForApply(manifests)) {
      const resolved = await this.resolve(manifest);
      await this.serverSideApply(resolved);
      if (isCrd(resolved)) await this.waitEstablished(resolved.metadata.name);
    }
    return manifests.length;
  }

  /** Deletes the named objects, dependents first; one already gone counts as deleted. Returns how many existed. */
  async deleteManifests(manifests: Manifest[]): Promise<number> {
    let existed = 0;
    for (const manifest of orderForDelete(manifests)) {
      const { apiVersion, kind, metadata } = await this.resolve(manifest);
      const header = { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace } };
      await this.queue.run(objectKey(header), async () => {
        try {
          await withTransientRetry(() => this.options.objects.delete(header), this.retry);
          existed++;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      });
    }
    return existed;
  }

  /** Deletes every resource of the stack this agent owns (deletion marker, untargeted stack). */
  async deleteStack(stackId: string): Promise<ApplyOutcome> {
    const pruned = await this.pruner.prune(stackId, null);
    return { status: "deleted", applied: 0, pruned };
  }

  /**
   * Labels what Brokkr's agent applied for this agent id and moves its managed fields here (see
   * takeover.ts), searching also the kinds in `yamlContents` (the target state's objects).
   */
  adoptBrokkrResources(yamlContents: string[] = []): Promise<number> {
    return this.takeover.adopt(yamlContents.flatMap(kindsIn));
  }

  /** Stacks with resources in the cluster that this agent owns, whether or not it knows them now. */
  ownedStackIds(): Promise<string[]> {
    return this.pruner.ownedStackIds();
  }

  private async serverSideApply(manifest: Manifest): Promise<void> {
    this.kinds.add(manifest);
    await this.queue.run(objectKey(manifest), () =>
      withTransientRetry(
        () =>
          this.options.objects.patch(
            // Sent as parsed from YAML: its metadata holds any field, which V1ObjectMeta cannot type.
            structuredClone(manifest) as KubernetesObject,
            undefined,
            undefined,
            FIELD_MANAGER,
            true,
            PatchStrategy.ServerSideApply,
          ),
        this.retry,
      ),
    );
  }

  /** Sets the default namespace on namespaced kinds, found through (cached) discovery. */
  async resolve(manifest: Manifest): Promise<Manifest> {
    const resource = await withTransientRetry(
      () => this.options.objects.resourceFor(manifest.apiVersion, manifest.kind),
      this.retry,
    );
    if (!resource) throw new Error(`the cluster does not serve ${manifest.apiVersion} ${manifest.kind}`);
    const copy = structuredClone(manifest);
    if (resource.namespaced) copy.metadata.namespace ??= this.options.defaultNamespace;
    else delete copy.metadata.namespace;
    return copy;
  }

  /** True when every object already lives in the cluster stamped with this checksum (after a restart, say). */
  private async liveMatches(manifests: Manifest[], checksum: string): Promise<boolean> {
    if (manifests.length === 0) return false;
    try {
      for (const manifest of manifests) {
        const resolved = await this.resolve(manifest);
        const { apiVersion, kind, metadata } = resolved;
        const header = { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace } };
        const live = await withTransientRetry(() => this.options.objects.read(header), this.retry);
        if (checksumOf(live) !== checksum) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  private async waitEstablished(name: string): Promise<void> {
    const timeoutMs = this.options.crdTimeoutMs ?? 30_000;
    const pollMs = this.options.crdPollMs ?? 250;
    const header = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name } };
    for (let waited = 0; ; waited += pollMs) {
      const crd = CrdConditions.safeParse(await withTransientRetry(() => this.options.objects.read(header), this.retry));
      if (crd.data?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) return;
      if (waited >= timeoutMs) throw new Error(`CustomResourceDefinition ${name} was not Established within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
