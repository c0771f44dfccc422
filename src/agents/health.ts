import type { Database } from "../db/client.js";
import { BrokkrError, forbidden } from "../errors.js";
import { DEFAULT_INPUT_LIMITS, LIMITS, requireId, requireText, type InputLimits } from "../validation.js";
import { type HealthEntry, upsertHealthReport } from "./health-store.js";
import type { AgentRow } from "./store.js";

export interface HealthReportEntry {
  id: string;
  status: string;
  summary?: unknown;
  checked_at: string;
}

/**
 * Deepest nesting a summary may have: the NUL/surrogate check (findUncleanText) looks this deep,
 * and a summary nested thousands deep overflowed JSON.stringify's stack (a 500 with a trace).
 */
const MAX_SUMMARY_DEPTH = 32;

function nestedDeeperThan(value: unknown, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (max === 0) return true;
  return (Array.isArray(value) ? value : Object.values(value)).some((v) => nestedDeeperThan(v, max - 1));
}

function toEntry(e: HealthReportEntry, i: number): HealthEntry {
  const field = `deployment_objects.${i}`;
  const checkedAt = new Date(e.checked_at);
  if (Number.isNaN(checkedAt.getTime()))
    throw new BrokkrError("BAD_USER_INPUT", `${field}.checked_at is not a date`, `${field}.checked_at`);
  if (nestedDeeperThan(e.summary, MAX_SUMMARY_DEPTH)) {
    throw new BrokkrError("BAD_USER_INPUT", `${field}.summary may nest at most ${MAX_SUMMARY_DEPTH} levels`, `${field}.summary`);
  }
  const summary =
    e.summary === undefined || e.summary === null ? null : typeof e.summary === "string" ? e.summary : JSON.stringify(e.summary);
  return {
    deploymentObjectId: requireId(`${field}.id`, e.id),
    status: requireText(`${field}.status`, e.status, LIMITS.healthStatus),
    summary,
    checkedAt,
  };
}

/**
 * An agent's health report, written in one statement or not at all: `agent` comes from
 * getWritingAgent (the caller may write for it), the report must be within the entry cap, and every entry an object of a stack that reaches the agent
 * (an unknown object is refused exactly like another stack's). A repeated object keeps its last entry.
 */
export async function recordHealthReport(
  db: Database,
  agent: AgentRow,
  report: readonly HealthReportEntry[],
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): Promise<void> {
  if (report.length > limits.maxHealthEntries) {
    throw new BrokkrError(
      "PAYLOAD_TOO_LARGE",
      `a health report holds at most ${limits.maxHealthEntries} entries (BROKKR__BROKER__MAX_HEALTH_ENTRIES)`,
      "deployment_objects",
    );
  }
  const entries = report.map(toEntry);
  const last = new Map(entries.map((e, i) => [e.deploymentObjectId, i]));
  const unique = entries.filter((e, i) => last.get(e.deploymentObjectId) === i);
  if (unique.length === 0) return;
  const refused = await upsertHealthReport(db, agent.id, unique);
  if (refused === null) return;
  // The store counts within `unique`; the caller knows the positions of its own report.
  const entry = unique[refused];
  throw forbidden(
    `deployment_objects.${entry ? entries.indexOf(entry) : refused}: not an object of a stack that reaches this agent`,
  );
}
