import type { Identity } from "../auth/identity.js";
import { requireRole } from "../auth/policy.js";
import type { Db } from "../db/client.js";
import { BrokkrError, notFound } from "../errors.js";
import type { CreateComponentInput, RegisterComponentVersionInput } from "../generated/graphql.js";
import { decodeNameIdCursor, decodeNumberIdCursor, encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { LIMITS, requireId, requireText } from "../validation.js";
import * as input from "./input.js";
import * as store from "./store.js";
import type { ComponentVersionRow } from "./store.js";

/** Components are the admin's, ADMIN users' and generators' (CI) to write, and to read with read-only users. */
export const requireCatalogUser = (identity: Identity | null) => requireRole(identity, "ADMIN", "GENERATOR");

export async function createComponent(db: Db, identity: Identity | null, i: CreateComponentInput) {
  requireCatalogUser(identity);
  const name = input.requireComponentName(i.name);
  const row = await store.insertComponent(db, {
    name,
    displayName: i.displayName == null ? name : requireText("displayName", i.displayName, LIMITS.name),
    imageRepository: input.requireRepository(i.imageRepository),
    defaultChannel: i.defaultChannel == null ? "stable" : input.requireChannel("defaultChannel", i.defaultChannel),
  });
  if (!row) throw new BrokkrError("CONFLICT", `a component named '${name}' exists`, "name", "component_exists");
  return row;
}

/** A live component, NOT_FOUND otherwise. */
export async function requireComponent(db: Db, id: string, field = "id") {
  const component = await store.findComponent(db, requireId(field, id));
  if (!component) throw notFound("component");
  return component;
}

/** Which of the three unique keys `existing` takes from `wanted`, as the field to name. */
function clash(existing: ComponentVersionRow, wanted: { tag: string; digest: string; semver: string }) {
  if (existing.tag === wanted.tag)
    return { field: "tag", message: `tag '${wanted.tag}' is registered with digest ${existing.digest}` };
  if (existing.digest === wanted.digest)
    return { field: "digest", message: `this digest is registered as tag '${existing.tag}'` };
  return { field: "semver", message: `semver ${wanted.semver} is registered as tag '${existing.tag}'` };
}

/**
 * CI's registration, idempotent: the same tag, digest, semver and channel again answer the
 * existing version (created: false); a tag that would move, or a digest or semver already
 * under another tag, is a CONFLICT naming the field. The unique keys decide races.
 */
export async function registerComponentVersion(db: Db, identity: Identity | null, i: RegisterComponentVersionInput) {
  const who = requireCatalogUser(identity);
  const component = await requireComponent(db, i.componentId, "componentId");
  const wanted = {
    componentId: component.id,
    tag: input.requireTag("tag", i.tag),
    digest: input.requireDigest("digest", i.digest),
    semver: input.requireSemver("semver", i.semver),
    channel: i.channel == null ? component.defaultChannel : input.requireChannel("channel", i.channel),
  };
  const created = await store.insertVersion(db, { ...wanted, generatorId: who.role === "GENERATOR" ? who.id : null });
  if (created) return { version: created, created: true };
  const existing = await store.versionsSharing(db, component.id, wanted);
  const same = existing.find((v) => v.tag === wanted.tag && v.digest === wanted.digest);
  if (same && same.semver === wanted.semver && same.channel === wanted.channel) return { version: same, created: false };
  if (same) {
    const field = same.semver !== wanted.semver ? "semver" : "channel";
    throw new BrokkrError("CONFLICT", `tag '${wanted.tag}' is registered with ${field} ${same[field]}`, field, "version_exists");
  }
  const first = existing.find((v) => v.tag === wanted.tag) ?? existing.find((v) => v.digest === wanted.digest) ?? existing[0];
  if (!first) throw new BrokkrError("CONFLICT", "the version was registered and removed concurrently; retry", "tag");
  const { field, message } = clash(first, wanted);
  throw new BrokkrError("CONFLICT", message, field, "version_exists");
}

export async function listComponents(db: Db, identity: Identity | null, page: Page) {
  requireCatalogUser(identity);
  const rows = await store.listComponents(db, page.first, page.after ? decodeNameIdCursor(page.after) : null);
  return toConnection(rows, page.first, (c) => encodeCursor([c.name, c.id]));
}

export async function getComponent(db: Db, identity: Identity | null, id: string) {
  requireCatalogUser(identity);
  return store.findComponent(db, requireId("id", id));
}

export async function listVersions(db: Db, componentId: string, page: Page) {
  const rows = await store.listVersions(db, componentId, page.first, page.after ? decodeNumberIdCursor(page.after) : null);
  return toConnection(rows, page.first, (v) => encodeCursor([v.createdUs, v.id]));
}
