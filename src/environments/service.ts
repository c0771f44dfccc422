import type { AgentRow } from "../agents/store.js";
import type { Identity } from "../auth/identity.js";
import { requireAdmin, requireRole } from "../auth/policy.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import { BrokkrError, badInput, fromDatabaseError, notFound, sqlState } from "../errors.js";
import type { CreateEnvironmentInput, UpdateEnvironmentInput } from "../generated/graphql.js";
import { decodeCursor, encodeCursor, toConnection, type Page } from "../graphql/pagination.js";
import { isUuid, requireId, requireText } from "../validation.js";
import * as input from "./input.js";
import * as members from "./members-store.js";
import * as store from "./store.js";
import type { EnvironmentRow, EnvironmentSettings } from "./store.js";

/**
 * The most agents one environment resolves to. A rollout makes one task per agent, so a larger
 * environment is refused outright rather than silently cut short.
 */
export const MAX_ENVIRONMENT_AGENTS = 10_000;

/** Who reads environments: the admin, read-only users and generators; agents are refused. */
export const requireEnvironmentReader = (identity: Identity | null) => requireRole(identity, "ADMIN", "GENERATOR");

const DEFAULTS: EnvironmentSettings = {
  displayName: "",
  orderIndex: 0,
  config: {},
  agentSelector: { labels: [], annotations: [] },
  freezeWindows: [],
  timeZone: "UTC",
  requiredApprovals: 0,
  requireSod: true,
  rolloutStrategy: "ALL_AT_ONCE",
  batchSize: null,
  batchPercent: null,
  failureThreshold: 1,
  driftPolicy: "REPORT",
};

type SettingsInput = Omit<UpdateEnvironmentInput, "id">;

/** `base` with the given fields replaced, each validated and named on refusal. */
function mergeSettings(base: EnvironmentSettings, i: SettingsInput): EnvironmentSettings {
  const s = { ...base };
  if (i.displayName != null) s.displayName = input.requireDisplayName(i.displayName);
  if (i.orderIndex != null) s.orderIndex = input.requireIntIn("orderIndex", i.orderIndex, 0, input.ENVIRONMENT_LIMITS.orderIndex);
  if (i.config !== undefined) s.config = input.requireConfig(i.config);
  if (i.agentSelector != null) s.agentSelector = input.requireSelector(i.agentSelector);
  if (i.freezeWindows != null) s.freezeWindows = input.requireFreezeWindows(i.freezeWindows);
  if (i.timeZone != null) s.timeZone = input.requireTimeZone(i.timeZone);
  if (i.requiredApprovals != null)
    s.requiredApprovals = input.requireIntIn(
      "requiredApprovals",
      i.requiredApprovals,
      0,
      input.ENVIRONMENT_LIMITS.requiredApprovals,
    );
  if (i.requireSeparationOfDuties != null) s.requireSod = i.requireSeparationOfDuties;
  if (i.failureThreshold != null)
    s.failureThreshold = input.requireIntIn("failureThreshold", i.failureThreshold, 1, input.ENVIRONMENT_LIMITS.failureThreshold);
  if (i.driftPolicy != null) s.driftPolicy = i.driftPolicy;
  Object.assign(s, mergeRollout(s, i));
  return s;
}

/**
 * Batch settings follow the strategy: naming one batch field replaces the other, and a move to
 * ALL_AT_ONCE clears both unless they are given (then it is refused as inconsistent).
 */
function mergeRollout(base: input.Rollout, i: SettingsInput): input.Rollout {
  const strategy = i.rolloutStrategy ?? base.rolloutStrategy;
  const given = i.batchSize !== undefined || i.batchPercent !== undefined;
  let batchSize = i.batchSize !== undefined ? i.batchSize : given ? null : base.batchSize;
  let batchPercent = i.batchPercent !== undefined ? i.batchPercent : given ? null : base.batchPercent;
  if (strategy === "ALL_AT_ONCE" && !given) [batchSize, batchPercent] = [null, null];
  return input.requireRollout({ rolloutStrategy: strategy, batchSize, batchPercent });
}

async function setMembers(tx: Db, environmentId: string, ids: readonly string[] | null | undefined) {
  if (ids == null) return;
  const agentIds = input.requireMemberIds(ids);
  const missing = await members.missingAgents(tx, agentIds);
  if (missing.length > 0) throw badInput("explicitMemberIds", `no agent has the id ${missing[0]}`);
  await members.replaceExplicitMembers(tx, environmentId, agentIds);
}

/** CONFLICT naming the unique key of live rows that `name` or `orderIndex` meets. */
async function taken(db: Db, name: string | null, orderIndex: number, exceptId?: string) {
  const key = await store.takenKey(db, name, orderIndex, exceptId);
  const what = key === "name" ? `the name '${name}'` : `the order index ${orderIndex}`;
  return new BrokkrError("CONFLICT", `a live environment already has ${what}`, key ?? undefined, "environment_exists");
}

export async function createEnvironment(db: Database, identity: Identity | null, i: CreateEnvironmentInput) {
  requireAdmin(identity);
  const name = input.requireEnvironmentName(i.name);
  const settings = mergeSettings({ ...DEFAULTS, displayName: name }, i);
  try {
    return await inTransaction(db, async (tx) => {
      const row = await store.insertEnvironment(tx, name, settings);
      if (!row) throw await taken(tx, name, settings.orderIndex);
      await setMembers(tx, row.id, i.explicitMemberIds);
      return row;
    });
  } catch (err) {
    throw sqlState(err) === "23505" ? await taken(db, name, settings.orderIndex) : fromDatabaseError(err);
  }
}

export async function updateEnvironment(db: Database, identity: Identity | null, i: UpdateEnvironmentInput) {
  requireAdmin(identity);
  const id = requireId("id", i.id);
  let orderIndex = 0;
  try {
    return await inTransaction(db, async (tx) => {
      const current = await store.findEnvironment(tx, id, true);
      if (!current) throw notFound("environment");
      const settings = mergeSettings(current, i);
      orderIndex = settings.orderIndex;
      const row = (await store.updateEnvironment(tx, id, settings)) as EnvironmentRow;
      await setMembers(tx, id, i.explicitMemberIds);
      return row;
    });
  } catch (err) {
    // A racing writer took the order index between our read and our update.
    throw sqlState(err) === "23505" ? await taken(db, null, orderIndex, id) : fromDatabaseError(err);
  }
}

export async function deleteEnvironment(db: Database, identity: Identity | null, rawId: string) {
  requireAdmin(identity);
  const id = requireId("id", rawId);
  return inTransaction(db, async (tx) => {
    if (!(await store.findEnvironment(tx, id, true))) throw notFound("environment");
    if (await store.hasPromotionInFlight(tx, id))
      throw new BrokkrError("CONFLICT", "a promotion into this environment is in flight; let it finish first", "id");
    await store.softDeleteEnvironment(tx, id);
    return { id };
  });
}

/** A live environment, or null (missing and deleted alike). */
export async function getEnvironment(db: Db, identity: Identity | null, rawId: string) {
  requireEnvironmentReader(identity);
  return store.findEnvironment(db, requireId("id", rawId));
}

const validCursor = ([order, id]: string[]) => /^\d{1,6}$/.test(order ?? "") && isUuid(id ?? "");

export async function listEnvironments(db: Db, identity: Identity | null, nameContains: string | null | undefined, page: Page) {
  requireEnvironmentReader(identity);
  const filter = nameContains == null ? null : requireText("filter.nameContains", nameContains, 63);
  const after = page.after ? decodeCursor(page.after, 2, validCursor) : null;
  const rows = await store.listEnvironments(db, filter, page, after ? [Number(after[0]), after[1] as string] : null);
  return toConnection(rows, page.first, (e) => encodeCursor([e.orderIndex, e.id]));
}

/** Each environment's agents, in the order the statement gave them. */
function byEnvironment(environmentIds: readonly string[], rows: members.MemberAgent[]): AgentRow[][] {
  const out = new Map<string, AgentRow[]>(environmentIds.map((id) => [id, []]));
  for (const { environmentId, ...agent } of rows) out.get(environmentId)?.push(agent);
  return environmentIds.map((id) => out.get(id) ?? []);
}

/** Every live agent of each environment (explicit or by selector), by name; refuses an oversized one. */
export async function agentsOfEnvironments(db: Db, environmentIds: readonly string[]): Promise<AgentRow[][]> {
  const lists = byEnvironment(environmentIds, await members.agentsOfEnvironments(db, environmentIds, MAX_ENVIRONMENT_AGENTS + 1));
  if (lists.some((l) => l.length > MAX_ENVIRONMENT_AGENTS))
    throw new BrokkrError("UNPROCESSABLE_ENTITY", `an environment resolves to more than ${MAX_ENVIRONMENT_AGENTS} agents`);
  return lists;
}

/** The agents an environment contains now (for the rollout runner: one task per agent). */
export async function listEnvironmentAgents(db: Db, environmentId: string): Promise<AgentRow[]> {
  return (await agentsOfEnvironments(db, [environmentId]))[0] ?? [];
}

export async function explicitMembersOf(db: Db, environmentIds: readonly string[]): Promise<AgentRow[][]> {
  return byEnvironment(environmentIds, await members.explicitMembersOf(db, environmentIds));
}
