import { isUuid } from "../../validation.js";

/*
 * Audit action names in Brokkr's style (`stack.created`, `agent.registered`), derived from the
 * operation's name so that operations other features add are named without a table entry:
 * the GraphQL field `createWorkOrder` and the REST operationId `create_work_order` both give
 * `work_order.created`, `addStackLabel` and `stacks_add_label` both `stack_label.added`.
 * ALIASES only joins the few pairs whose names differ between the two APIs.
 */
const PAST: Record<string, string> = {
  create: "created",
  update: "updated",
  delete: "deleted",
  add: "added",
  remove: "removed",
  set: "set",
  rotate: "rotated",
  register: "registered",
  deregister: "deregistered",
  target: "targeted",
  untarget: "untargeted",
  report: "reported",
  record: "recorded",
  claim: "claimed",
  complete: "completed",
  submit: "submitted",
  instantiate: "instantiated",
  test: "tested",
  reload: "reloaded",
  approve: "approved",
  reject: "rejected",
  request: "requested",
  rollback: "rolled_back",
  retry: "retried",
  cancel: "cancelled",
  promote: "promoted",
  activate: "activated",
  deactivate: "deactivated",
  revoke: "revoked",
  invite: "invited",
  pause: "paused",
  resume: "resumed",
  fail: "failed",
  publish: "published",
};

/** REST operations named differently from their GraphQL twin, and frames of the agent socket. */
const ALIASES: Record<string, string> = {
  stacks_add_annotation: "stack_annotation.set",
  agents_add_annotation: "agent_annotation.set",
  add_target: "stack.targeted",
  remove_target: "stack.untargeted",
  create_event: "agent_event.reported",
  heartbeat: "heartbeat.recorded",
  agent_event: "agent_event.reported",
  agent_health: "health_status.updated",
};

const alias = (name: string) => (Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined);

/** Trailing words naming a part of a resource rather than the resource itself. */
const PART_WORDS = new Set(["pak", "label", "labels", "annotation", "annotations", "status", "target", "targets"]);

const singular = (word: string) => (word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word);

/** `createWorkOrder` → create, work, order. */
export function camelWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[\s_]+/)
    .filter(Boolean);
}

/** The action for an operation's words (`["stacks", "add", "label"]` → `stack_label.added`). */
function actionOfWords(words: string[]): string {
  const at = words.findIndex((w) => Object.hasOwn(PAST, w));
  if (at < 0) return `${words.join("_") || "operation"}.recorded`;
  const noun = [...words.slice(0, at).map(singular), ...words.slice(at + 1)];
  return `${noun.join("_") || "system"}.${PAST[words[at] as string]}`;
}

export function graphqlAction(field: string): string {
  return alias(field) ?? actionOfWords(camelWords(field));
}

export function restAction(operationId: string): string {
  return alias(operationId) ?? actionOfWords(operationId.split("_").filter(Boolean));
}

/** The resource an action is about: its noun without trailing part words (`stack_label` → `stack`). */
export function resourceTypeOf(action: string): string {
  const words = (action.split(".")[0] ?? "").split("_");
  while (words.length > 1 && PART_WORDS.has(words.at(-1) as string)) words.pop();
  return words.join("_");
}

export interface Candidate {
  type: string;
  id: unknown;
}

export interface Resource {
  type: string;
  id: string | null;
  /** An id that is not a UUID (refused input) is kept in details, never in the uuid column. */
  ref?: string;
}

/** The first candidate of the wanted type with an id, else the first with an id, else none. */
export function pickResource(wanted: string, candidates: Candidate[]): Resource {
  const usable = candidates.filter((c) => typeof c.id === "string" && c.id.length > 0) as { type: string; id: string }[];
  const hit = usable.find((c) => c.type === wanted || wanted.endsWith(`_${c.type}`)) ?? usable[0];
  if (!hit) return { type: wanted, id: null };
  const type = hit.type === wanted || wanted.endsWith(`_${hit.type}`) ? wanted : hit.type;
  return isUuid(hit.id) ? { type, id: hit.id } : { type, id: null, ref: hit.id.slice(0, 128) };
}

/** `stackId` → `stack`, `deployment_object_id` → `deployment_object`; null for other keys. */
export function idKeyType(key: string): string | null {
  if (key === "id") return null;
  const words = camelWords(key);
  return words.length > 1 && words.at(-1) === "id" ? words.slice(0, -1).join("_") : null;
}

/** Candidates from an object's `…Id` keys, in their order. */
export function idCandidates(value: unknown): Candidate[] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, id]) => {
    const type = idKeyType(key);
    return type ? [{ type, id }] : [];
  });
}

/** Candidates from an object's nested objects that carry an id (`{ stack: { id } }`). */
export function nestedCandidates(value: unknown): Candidate[] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, v]) =>
    v && typeof v === "object" && "id" in v ? [{ type: camelWords(key).join("_"), id: (v as { id: unknown }).id }] : [],
  );
}
