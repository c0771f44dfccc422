import { insertDomainEvent } from "../webhooks/outbox.js";
import type { Identity } from "../auth/identity.js";
import { requireRole } from "../auth/policy.js";
import * as components from "../components/store.js";
import { requireDigest, requireSemver, requireTag } from "../components/input.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { BrokkrError, badInput, forbidden, fromDatabaseError, notFound, sqlState } from "../errors.js";
import type {
  CreateReleaseInput,
  ReleaseComponentInput,
  SetReleaseStatusInput,
  UpdateReleaseInput,
} from "../generated/graphql.js";
import { decodeNumberIdCursor, encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { getReadableTemplate } from "../templates/service.js";
import { LIMITS, MAX_LIST_ARGUMENT, requireId, requireJsonObject, requireText } from "../validation.js";
import * as store from "./store.js";
import type { ReleaseRow, ReleaseStatus } from "./store.js";

export const RELEASE_LIMITS = { parametersBytes: 64 * 1024, sourceRefBytes: 4 * 1024 } as const;

/** Releases are the admin's, ADMIN users' and generators' (CI) to write, and to read with read-only users. */
export const requireReleaseUser = (identity: Identity | null) => requireRole(identity, "ADMIN", "GENERATOR");

const KEYS = ["versionId", "digest", "tag", "semver"] as const;

/** The registered version one entry names by exactly one of its keys; BAD_USER_INPUT naming the field otherwise. */
async function resolveEntry(db: Db, field: string, entry: ReleaseComponentInput) {
  const named = KEYS.filter((k) => entry[k] != null);
  if (named.length !== 1) throw badInput(field, `${field} must name its version by exactly one of ${KEYS.join(", ")}`);
  const key = named[0] as (typeof KEYS)[number];
  const raw = entry[key] as string;
  const checks = { versionId: requireId, digest: requireDigest, tag: requireTag, semver: requireSemver };
  const value = checks[key](`${field}.${key}`, raw);
  const componentId = requireId(`${field}.componentId`, entry.componentId);
  if (!(await components.findComponent(db, componentId)))
    throw badInput(`${field}.componentId`, `${field}.componentId names no component`);
  const version = await components.findVersionBy(db, componentId, key === "versionId" ? "id" : key, value);
  if (!version) throw badInput(`${field}.${key}`, `${field}.${key} names no registered version of that component`);
  return version;
}

async function resolveComponents(db: Db, entries: readonly ReleaseComponentInput[]) {
  if (entries.length === 0 || entries.length > MAX_LIST_ARGUMENT)
    throw badInput("components", `components must hold 1 to ${MAX_LIST_ARGUMENT} entries`);
  const versions = [];
  for (const [i, entry] of entries.entries()) versions.push(await resolveEntry(db, `components[${i}]`, entry));
  const ids = versions.map((v) => v.componentId);
  const dup = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (dup >= 0) throw badInput(`components[${dup}].componentId`, "a release holds one version per component");
  return versions;
}

function requireSourceRef(value: unknown) {
  if (value === undefined || value === null) return null;
  return requireJsonObject("sourceRef", value, RELEASE_LIMITS.sourceRefBytes);
}

const releaseEvent = (r: ReleaseRow) => ({ release_id: r.id, name: r.name, status: r.status, template_id: r.templateId });

export async function createRelease(db: Database, identity: Identity | null, i: CreateReleaseInput) {
  const who = requireReleaseUser(identity);
  const name = requireText("name", i.name, LIMITS.name);
  const write: store.ReleaseWrite = {
    name,
    displayName: i.displayName == null ? name : requireText("displayName", i.displayName, LIMITS.name),
    templateId: (await getReadableTemplate(db, who, i.templateId, "templateId")).id,
    parameters: requireJsonObject("parameters", i.parameters, RELEASE_LIMITS.parametersBytes),
    sourceRef: requireSourceRef(i.sourceRef),
    createdByUserId: who.role === "ADMIN" ? (who.user?.id ?? null) : null,
    createdByGeneratorId: who.role === "GENERATOR" ? who.id : null,
  };
  const versions = await resolveComponents(db, i.components);
  const taken = () => new BrokkrError("CONFLICT", `a release named '${name}' exists`, "name", "release_exists");
  try {
    return await inTransaction(db, async (tx) => {
      let release = await store.insertRelease(tx, write);
      if (!release) throw taken();
      await store.insertReleaseComponents(
        tx,
        release.id,
        versions.map((v) => ({ componentId: v.componentId, versionId: v.id })),
      );
      if (i.ready) release = (await store.updateStatus(tx, release.id, "DRAFT", "READY")) as ReleaseRow;
      const digests = versions.map((v) => ({
        component_id: v.componentId,
        version_id: v.id,
        tag: v.tag,
        digest: v.digest,
        semver: v.semver,
      }));
      await insertDomainEvent(tx, "release.created", { ...releaseEvent(release), components: digests });
      return release;
    });
  } catch (err) {
    // A component deleted meanwhile (foreign key), or a racing create of the name.
    if (sqlState(err) === "23505") throw taken();
    throw fromDatabaseError(err);
  }
}

const notDraft = (status: string) =>
  new BrokkrError("CONFLICT", `the release is ${status}: only a DRAFT release changes`, undefined, "release_not_draft");

/** The draft's fields with the given ones replaced, each validated and named on refusal. */
async function draftFields(db: Db, who: Identity, current: ReleaseRow, i: UpdateReleaseInput): Promise<store.DraftFields> {
  return {
    displayName: i.displayName == null ? current.displayName : requireText("displayName", i.displayName, LIMITS.name),
    templateId: i.templateId == null ? current.templateId : (await getReadableTemplate(db, who, i.templateId, "templateId")).id,
    parameters:
      i.parameters === undefined
        ? current.parameters
        : requireJsonObject("parameters", i.parameters, RELEASE_LIMITS.parametersBytes),
    sourceRef: i.sourceRef === undefined ? current.sourceRef : requireSourceRef(i.sourceRef),
  };
}

/**
 * Edits a DRAFT. Its components are replaced first, so the frozen-components trigger is the one
 * guard of them (a release that left DRAFT meanwhile is refused there, as CONFLICT); the other
 * fields are then set by an UPDATE guarded on the status.
 */
export async function updateRelease(db: Database, identity: Identity | null, i: UpdateReleaseInput) {
  const who = requireReleaseUser(identity);
  const current = await store.findRelease(db, requireId("id", i.id));
  if (!current) throw notFound("release");
  if (who.role === "GENERATOR" && current.createdByGeneratorId !== who.id)
    throw forbidden("a generator changes only the releases it created");
  const fields = await draftFields(db, who, current, i);
  const versions = i.components == null ? null : await resolveComponents(db, i.components);
  try {
    return await inTransaction(db, async (tx) => {
      if (versions) {
        await store.deleteReleaseComponents(tx, current.id);
        await store.insertReleaseComponents(
          tx,
          current.id,
          versions.map((v) => ({ componentId: v.componentId, versionId: v.id })),
        );
      }
      const updated = await store.updateDraft(tx, current.id, fields);
      if (!updated) throw notDraft((await store.findRelease(tx, current.id))?.status ?? current.status);
      return updated;
    });
  } catch (err) {
    if (store.isFrozenComponentsError(err)) throw notDraft("no longer a DRAFT");
    throw fromDatabaseError(err);
  }
}

/** Where each status may go by this mutation; DEPLOYED is set by a succeeding deployment job only. */
const NEXT: Record<ReleaseStatus, ReleaseStatus[]> = {
  DRAFT: ["READY"],
  READY: ["DEPRECATED"],
  DEPLOYED: ["DEPRECATED"],
  DEPRECATED: [],
};

export async function setReleaseStatus(db: Database, identity: Identity | null, i: SetReleaseStatusInput) {
  requireReleaseUser(identity);
  const id = requireId("id", i.id);
  if (i.status === "DEPLOYED") throw badInput("status", "DEPLOYED is set when a deployment job of the release succeeds");
  return inTransaction(db, async (tx) => {
    const current = await store.findRelease(tx, id);
    if (!current) throw notFound("release");
    if (current.status === i.status) return current;
    const allowed = NEXT[current.status];
    if (!allowed.includes(i.status)) {
      const where = allowed.length ? `it can go to ${allowed.join(" or ")} only` : `${current.status} is final`;
      throw new BrokkrError("CONFLICT", `the release is ${current.status}: ${where}`, "status", "release_status");
    }
    const updated = await store.updateStatus(tx, id, current.status, i.status);
    if (!updated) throw new BrokkrError("CONFLICT", "the release's status changed meanwhile; read it and retry", "status");
    await insertDomainEvent(tx, "release.status_changed", { ...releaseEvent(updated), previous_status: current.status });
    return updated;
  });
}

export async function getRelease(db: Db, identity: Identity | null, id: string) {
  requireReleaseUser(identity);
  return store.findRelease(db, requireId("id", id));
}

export async function listReleases(db: Db, identity: Identity | null, status: ReleaseStatus | null | undefined, page: Page) {
  requireReleaseUser(identity);
  const rows = await store.listReleases(db, status ?? null, page.first, page.after ? decodeNumberIdCursor(page.after) : null);
  return toConnection(rows, page.first, (r) => encodeCursor([r.createdUs, r.id]));
}
