import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { type Catalog, type ResourceType, groupVersion, typesFromCrd } from "./catalog.ts";
import type { LabelSelector } from "./label-selector.ts";
import { StatusError, notFound } from "./status.ts";

export type KubeObject = Record<string, any>;

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public"];

function keyOf(type: ResourceType, namespace: string | undefined, name: string): string {
  return [type.group, type.plural, namespace ?? "", name].join("|");
}

/** Everything except metadata and status: a change here bumps metadata.generation. */
function specPart(obj: KubeObject): KubeObject {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

function userMetadata(meta: KubeObject): KubeObject {
  const picked: KubeObject = { name: meta.name };
  for (const field of ["namespace", "labels", "annotations", "ownerReferences", "finalizers"]) {
    if (meta[field] !== undefined) picked[field] = meta[field];
  }
  return picked;
}

export class ObjectStore {
  private readonly objects = new Map<string, { type: ResourceType; object: KubeObject }>();
  private revision = 1;

  constructor(private readonly catalog: Catalog) {
    const ns = catalog.findKind("v1", "Namespace")!;
    for (const name of SYSTEM_NAMESPACES) {
      this.apply(ns, undefined, name, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, "fake-kube");
    }
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const entry = this.objects.get(keyOf(type, namespace, name));
    if (!entry) throw notFound(type.plural, name);
    return entry.object;
  }

  list(type: ResourceType, namespace: string | undefined, selector: LabelSelector): KubeObject[] {
    return [...this.objects.values()]
      .filter((e) => e.type === type || (e.type.group === type.group && e.type.plural === type.plural))
      .map((e) => e.object)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => selector(o.metadata.labels ?? {}));
  }

  all(): KubeObject[] {
    return [...this.objects.values()].map((e) => e.object);
  }

  resourceVersion(): string {
    return String(this.revision);
  }

  apply(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject, manager: string): { object: KubeObject; created: boolean } {
    this.validate(type, namespace, name, body);
    const key = keyOf(type, namespace, name);
    const existing = this.objects.get(key)?.object;
    const object = existing ? this.merge(existing, body, manager) : this.fresh(type, namespace, body, manager);
    this.objects.set(key, { type, object });
    this.afterWrite(type, object);
    return { object, created: !existing };
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, manager: string): KubeObject {
    const name = body?.metadata?.name;
    if (typeof name !== "string" || name === "") throw new StatusError(422, "metadata.name: Required value");
    if (this.objects.has(keyOf(type, namespace, name))) {
      throw new StatusError(409, `${type.plural} "${name}" already exists`, { name, kind: type.plural });
    }
    return this.apply(type, namespace, name, body, manager).object;
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const key = keyOf(type, namespace, name);
    const entry = this.objects.get(key);
    if (!entry) throw notFound(type.plural, name);
    this.objects.delete(key);
    this.revision++;
    if (type.kind === "Namespace" && type.group === "") this.deleteWhere((e) => e.object.metadata.namespace === name);
    if (type.kind === "CustomResourceDefinition") {
      const removed = this.catalog.unregisterCrd(name);
      this.deleteWhere((e) => removed.some((t) => t.group === e.type.group && t.plural === e.type.plural));
    }
    return entry.object;
  }

  /** Stands in for a controller or kubelet writing an object's status. */
  setStatus(type: ResourceType, namespace: string | undefined, name: string, status: KubeObject): void {
    const object = this.get(type, namespace, name);
    object.status = structuredClone(status);
    object.metadata.resourceVersion = String(++this.revision);
  }

  private deleteWhere(predicate: (e: { type: ResourceType; object: KubeObject }) => boolean): void {
    for (const [key, entry] of this.objects) if (predicate(entry)) this.objects.delete(key);
  }

  private validate(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject): void {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new StatusError(400, "the body must be an object");
    if (body.apiVersion !== groupVersion(type) || body.kind !== type.kind) {
      throw new StatusError(400, `the API version in the data (${body.apiVersion}) and kind (${body.kind}) do not match the request (${groupVersion(type)}, ${type.kind})`);
    }
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new StatusError(400, "the name of the object does not match the name on the URL");
    }
    if (type.namespaced && body.metadata?.namespace !== undefined && body.metadata.namespace !== namespace) {
      throw new StatusError(400, "the namespace of the provided object does not match the namespace sent on the request");
    }
    if (type.namespaced) {
      const nsType = this.catalog.findKind("v1", "Namespace")!;
      if (!this.objects.has(keyOf(nsType, undefined, namespace ?? ""))) throw notFound("namespaces", namespace ?? "");
    }
  }

  private fresh(type: ResourceType, namespace: string | undefined, body: KubeObject, manager: string): KubeObject {
    const metadata: KubeObject = {
      ...userMetadata({ ...body.metadata, name: body.metadata?.name }),
      ...(type.namespaced ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: String(++this.revision),
      generation: 1,
      creationTimestamp: new Date().toISOString(),
      managedFields: [managedEntry(manager, body.apiVersion)],
    };
    return { ...specPart(body), metadata };
  }

  private merge(existing: KubeObject, body: KubeObject, manager: string): KubeObject {
    const next: KubeObject = {
      ...specPart(body),
      metadata: { ...userMetadata({ ...body.metadata, name: existing.metadata.name }), namespace: existing.metadata.namespace },
    };
    if (next.metadata.namespace === undefined) delete next.metadata.namespace;
    const specChanged = !isDeepStrictEqual(specPart(existing), specPart(next));
    const metaChanged = !isDeepStrictEqual(userMetadata(existing.metadata), next.metadata);
    next.metadata = {
      ...next.metadata,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      generation: existing.metadata.generation + (specChanged ? 1 : 0),
      resourceVersion: specChanged || metaChanged ? String(++this.revision) : existing.metadata.resourceVersion,
      managedFields: [managedEntry(manager, body.apiVersion)],
    };
    if (existing.status !== undefined) next.status = existing.status;
    return next;
  }

  private afterWrite(type: ResourceType, object: KubeObject): void {
    if (type.kind === "Namespace" && type.group === "") object.status = { phase: "Active" };
    if (type.kind !== "CustomResourceDefinition") return;
    this.catalog.registerCrd(object.metadata.name, typesFromCrd(object));
    const names = object.spec?.names ?? {};
    object.status = {
      acceptedNames: { kind: names.kind, plural: names.plural },
      conditions: ["NamesAccepted", "Established"].map((condition) => ({
        type: condition,
        status: "True",
        lastTransitionTime: new Date().toISOString(),
        reason: condition === "Established" ? "InitialNamesAccepted" : "NoConflicts",
        message: "",
      })),
      storedVersions: (object.spec?.versions ?? []).filter((v: KubeObject) => v.storage).map((v: KubeObject) => v.name),
    };
  }
}

function managedEntry(manager: string, apiVersion: string): KubeObject {
  return { manager, operation: "Apply", apiVersion, time: new Date().toISOString(), fieldsType: "FieldsV1", fieldsV1: {} };
}
