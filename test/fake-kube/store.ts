import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { type Catalog, type ResourceType, groupVersion, typesFromCrd } from "./catalog.ts";
import type { LabelSelector } from "./label-selector.ts";
import { type Written, applyFields, mergePatch, updateFields } from "./field-managers.ts";
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

  /** Server-side apply (see field-managers.ts for the ownership rules). */
  apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    manager: string,
    force = false,
  ): { object: KubeObject; created: boolean } {
    this.validate(type, namespace, name, body);
    const existing = this.objects.get(keyOf(type, namespace, name))?.object;
    return this.write(type, namespace, name, body, applyFields(existing, body, manager, force));
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, manager: string): KubeObject {
    const name = body?.metadata?.name;
    if (typeof name !== "string" || name === "") throw new StatusError(422, "metadata.name: Required value");
    if (this.objects.has(keyOf(type, namespace, name))) {
      throw new StatusError(409, `${type.plural} "${name}" already exists`, { name, kind: type.plural });
    }
    this.validate(type, namespace, name, body);
    return this.write(type, namespace, name, body, updateFields(undefined, body, manager)).object;
  }

  /**
   * A JSON merge patch. A `metadata.resourceVersion` in the patch is a precondition (409 when the
   * object changed since), as on the real server; a changed `managedFields` is taken as given.
   */
  mergePatch(type: ResourceType, namespace: string | undefined, name: string, patch: KubeObject, manager: string): KubeObject {
    const existing = this.get(type, namespace, name);
    const expected = patch?.metadata?.resourceVersion;
    if (expected !== undefined && expected !== existing.metadata.resourceVersion) {
      throw new StatusError(
        409,
        `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const next = mergePatch(existing, patch) as KubeObject;
    this.validate(type, namespace, name, next);
    return this.write(type, namespace, name, next, updateFields(existing, next, manager)).object;
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
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new StatusError(400, "the body must be an object");
    if (body.apiVersion !== groupVersion(type) || body.kind !== type.kind) {
      throw new StatusError(
        400,
        `the API version in the data (${body.apiVersion}) and kind (${body.kind}) do not match the request (${groupVersion(type)}, ${type.kind})`,
      );
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

  /** Stores the written fields, keeping server-set metadata and status, and bumping versions on change. */
  private write(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    written: Written,
  ): { object: KubeObject; created: boolean } {
    const existing = this.objects.get(keyOf(type, namespace, name))?.object;
    const { metadata: userMeta = {}, ...spec } = written.fields;
    const object: KubeObject = {
      apiVersion: body.apiVersion,
      kind: body.kind,
      ...spec,
      metadata: { name, ...(type.namespaced ? { namespace } : {}), ...userMeta },
    };
    const specChanged = !existing || !isDeepStrictEqual(specPart(existing), specPart(object));
    const metaChanged = !existing || !isDeepStrictEqual(userMetadata(existing.metadata), userMetadata(object.metadata));
    const changed =
      specChanged || metaChanged || !isDeepStrictEqual(untimed(existing.metadata.managedFields), untimed(written.managedFields));
    object.metadata = {
      ...object.metadata,
      uid: existing?.metadata.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
      generation: existing ? existing.metadata.generation + (specChanged ? 1 : 0) : 1,
      resourceVersion: changed ? String(++this.revision) : existing.metadata.resourceVersion,
      // An unchanged write keeps the recorded times, so a no-op apply really changes nothing.
      managedFields: changed ? written.managedFields : existing.metadata.managedFields,
    };
    if (existing?.status !== undefined) object.status = existing.status;
    this.objects.set(keyOf(type, namespace, name), { type, object });
    this.afterWrite(type, object);
    return { object, created: !existing };
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

function untimed(entries: KubeObject[] | undefined): KubeObject[] {
  return (entries ?? []).map(({ time: _t, ...rest }) => rest);
}
