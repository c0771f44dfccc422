import { insertCappedTag } from "../db/capped-tags.js";
import type { Db } from "../db/client.js";
import { carriesAllTags } from "../db/tag-filter.js";
import { firstLinksPerParent } from "../db/first-per-parent.js";
import type { Stack } from "../generated/prisma/client.js";
import { decodeNameIdCursor, type Page } from "../graphql/pagination.js";

export type StackRow = Stack;

export interface StackListFilter {
  labels?: string[];
  annotations?: { key: string; value: string }[];
  generatorId?: string;
  /** Restricts the list to these stack ids (an agent's associated stacks). */
  ids?: string[];
  includeDeleted?: boolean;
}

export function insertStack(db: Db, data: { generatorId: string; name: string; description?: string | null }) {
  return db.stack.create({ data });
}

export function findStack(db: Db, id: string, includeDeleted = false) {
  return db.stack.findFirst({ where: { id, ...(includeDeleted ? {} : { deletedAt: null }) } });
}

export function findStacksByIds(db: Db, ids: readonly string[]) {
  return db.stack.findMany({ where: { id: { in: [...ids] } } });
}

/**
 * One statement whatever the filter: all labels (and all annotation pairs) are matched by one
 * grouped subquery each, not one EXISTS per entry (a few hundred of those took PostgreSQL
 * minutes to plan). Callers cap the lists (MAX_LIST_ARGUMENT) and pass them without repeats.
 */
export async function listStacks(db: Db, filter: StackListFilter, page: Page): Promise<StackRow[]> {
  const [name, id] = page.after ? decodeNameIdCursor(page.after) : [null, null];
  const rows = await db.$queryRaw<RawStack[]>`
    SELECT s.id, s.generator_id, s.name, s.description, s.created_at, s.updated_at, s.deleted_at
      FROM stacks s
     WHERE (${filter.includeDeleted ?? false} OR s.deleted_at IS NULL)
       AND (${filter.generatorId ?? null}::uuid IS NULL OR s.generator_id = ${filter.generatorId ?? null}::uuid)
       AND (${filter.ids ?? null}::uuid[] IS NULL OR s.id = ANY(${filter.ids ?? null}::uuid[]))
       AND ${carriesAllTags("stack", "s.id", filter)}
       AND (${name}::text IS NULL OR (s.name, s.id) > (${name}::text, ${id}::uuid))
     ORDER BY s.name, s.id
     LIMIT ${page.first + 1}`;
  return rows.map(toStackRow);
}

interface RawStack {
  id: string;
  generator_id: string;
  name: string;
  description: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  deleted_at: Date | string | null;
}

const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));

function toStackRow(r: RawStack): StackRow {
  return {
    id: r.id,
    generatorId: r.generator_id,
    name: r.name,
    description: r.description,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    deletedAt: r.deleted_at === null ? null : date(r.deleted_at),
  };
}

/** Annotation filter pairs without repeats, as two parallel arrays for unnest. */
export function updateStack(db: Db, id: string, data: { name?: string; description?: string | null }) {
  return db.stack.update({ where: { id }, data });
}

export function softDeleteStack(db: Db, id: string) {
  return db.stack.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
}

/** The trigger removes the stack's targets, its objects and their events first. */
export function hardDeleteStack(db: Db, id: string) {
  return db.stack.deleteMany({ where: { id } });
}

/** False when the stack already carries the most labels it may (see insertCappedTag). */
export function addStackLabel(db: Db, stackId: string, label: string): Promise<boolean> {
  return insertCappedTag(db, "stack_labels", stackId, label);
}

export function removeStackLabel(db: Db, stackId: string, label: string) {
  return db.stackLabel.deleteMany({ where: { stackId, label } });
}

/** False when the stack already carries the most annotations it may (see insertCappedTag). */
export function setStackAnnotation(db: Db, stackId: string, key: string, value: string): Promise<boolean> {
  return insertCappedTag(db, "stack_annotations", stackId, key, value);
}

export function removeStackAnnotation(db: Db, stackId: string, key: string) {
  return db.stackAnnotation.deleteMany({ where: { stackId, key } });
}

export function labelsOfStacks(db: Db, stackIds: readonly string[]) {
  return db.stackLabel.findMany({ where: { stackId: { in: [...stackIds] } }, orderBy: { label: "asc" } });
}

export function annotationsOfStacks(db: Db, stackIds: readonly string[]) {
  return db.stackAnnotation.findMany({ where: { stackId: { in: [...stackIds] } }, orderBy: { key: "asc" } });
}

/** Live agents explicitly targeted at each stack. */
/** The first MAX_LIST_ARGUMENT live targets of each stack (oldest first), with their agents. */
export async function targetsOfStacks(db: Db, stackIds: readonly string[]) {
  const ids = await firstLinksPerParent(db, "agent_targets_by_stack", stackIds);
  return db.agentTarget.findMany({ where: { id: { in: ids } }, include: { agent: true }, orderBy: { createdAt: "asc" } });
}

/** Inserts a label, failing on a duplicate (REST answers 409 as Brokkr does). */
export function insertStackLabel(db: Db, stackId: string, label: string) {
  return db.stackLabel.create({ data: { stackId, label } });
}

export function insertStackAnnotation(db: Db, stackId: string, key: string, value: string) {
  return db.stackAnnotation.create({ data: { stackId, key, value } });
}
