import { badInput } from "../errors.js";
import {
  LIMITS,
  MAX_LIST_ARGUMENT,
  optionalText,
  requireAnnotations,
  requireId,
  requireJsonObject,
  requireLabels,
  requireList,
  requireText,
} from "../validation.js";

/** The bounds of an environment's inputs (the migration's CHECKs, named per field here). */
export const ENVIRONMENT_LIMITS = {
  configBytes: 64 * 1024,
  freezeWindows: MAX_LIST_ARGUMENT,
  freezeReason: 1024,
  /** Explicit members are exceptions to the selector, not the way to list a fleet. */
  explicitMembers: MAX_LIST_ARGUMENT,
  orderIndex: 100_000,
  requiredApprovals: 10,
  batchSize: 100_000,
  failureThreshold: 100_000,
} as const;

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

export interface AgentSelector {
  labels: string[];
  annotations: { key: string; value: string }[];
}

/** As stored in environments.freeze_windows (migration 0019): ISO instants, or days and HH:MM. */
export type FreezeWindowJson =
  | { start: string; end: string; reason?: string }
  | { days: string[]; startTime: string; endTime: string; reason?: string };

export interface FreezeWindowInput {
  start?: Date | null;
  end?: Date | null;
  days?: string[] | null;
  startTime?: string | null;
  endTime?: string | null;
  reason?: string | null;
}

export function requireEnvironmentName(value: string): string {
  if (!NAME.test(value))
    throw badInput("name", "name must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit");
  return value;
}

export function requireIntIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badInput(field, `${field} must be between ${min} and ${max}`);
  return value;
}

export const requireDisplayName = (value: string) => requireText("displayName", value, LIMITS.name);

/** An IANA zone name as Intl knows it (stored in its canonical spelling); offsets are refused. */
export function requireTimeZone(value: string): string {
  const zone = requireText("timeZone", value, 64);
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) throw badInput("timeZone", "timeZone must be an IANA time zone name");
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw badInput("timeZone", `'${zone}' is not an IANA time zone`);
  }
}

export const requireConfig = (value: unknown) => requireJsonObject("config", value, ENVIRONMENT_LIMITS.configBytes);

export function requireSelector(input: { labels?: string[] | null; annotations?: { key: string; value: string }[] | null }) {
  const labels = [...new Set(requireLabels("agentSelector.labels", input.labels))];
  const annotations = requireAnnotations("agentSelector.annotations", input.annotations);
  const keys = new Set(annotations.map((a) => a.key));
  // Each agent holds one value per key: two values for one key would select nobody, silently.
  if (keys.size !== annotations.length) throw badInput("agentSelector.annotations", "each annotation key may appear once");
  return { labels, annotations } satisfies AgentSelector;
}

export function requireMemberIds(ids: readonly string[]): string[] {
  if (ids.length > ENVIRONMENT_LIMITS.explicitMembers)
    throw badInput("explicitMemberIds", `explicitMemberIds may hold at most ${ENVIRONMENT_LIMITS.explicitMembers} ids`);
  return [...new Set(ids.map((id, i) => requireId(`explicitMemberIds[${i}]`, id)))];
}

function requireWindow(field: string, w: FreezeWindowInput): FreezeWindowJson {
  const reason = optionalText(`${field}.reason`, w.reason, ENVIRONMENT_LIMITS.freezeReason) ?? undefined;
  const absolute = w.start != null || w.end != null;
  const recurring = w.days != null || w.startTime != null || w.endTime != null;
  if (absolute === recurring)
    throw badInput(field, `${field} is either absolute (start, end) or recurring (days, startTime, endTime)`);
  if (absolute) {
    if (!w.start || !w.end) throw badInput(field, `${field} needs both start and end`);
    if (w.start.getTime() >= w.end.getTime()) throw badInput(`${field}.end`, `${field}.end must be after start`);
    return { start: w.start.toISOString(), end: w.end.toISOString(), ...(reason ? { reason } : {}) };
  }
  const days = w.days ?? [];
  if (days.length === 0 || days.some((d) => !DAYS.includes(d)) || new Set(days).size !== days.length)
    throw badInput(`${field}.days`, `${field}.days must be distinct days among ${DAYS.join(" ")}`);
  for (const key of ["startTime", "endTime"] as const) {
    if (!HH_MM.test(w[key] ?? "")) throw badInput(`${field}.${key}`, `${field}.${key} must be HH:MM (00:00-23:59)`);
  }
  const ordered = DAYS.filter((d) => days.includes(d));
  return { days: ordered, startTime: w.startTime as string, endTime: w.endTime as string, ...(reason ? { reason } : {}) };
}

export const requireFreezeWindows = (list: readonly FreezeWindowInput[]) => requireList("freezeWindows", list, requireWindow);

export interface Rollout {
  rolloutStrategy: "ALL_AT_ONCE" | "ROLLING";
  batchSize: number | null;
  batchPercent: number | null;
}

/** ROLLING names exactly one of batchSize and batchPercent; ALL_AT_ONCE neither. */
export function requireRollout(r: Rollout): Rollout {
  if (r.batchSize !== null) requireIntIn("batchSize", r.batchSize, 1, ENVIRONMENT_LIMITS.batchSize);
  if (r.batchPercent !== null) requireIntIn("batchPercent", r.batchPercent, 1, 100);
  const named = (r.batchSize !== null ? 1 : 0) + (r.batchPercent !== null ? 1 : 0);
  if (r.rolloutStrategy === "ROLLING" && named !== 1)
    throw badInput("batchSize", "a ROLLING strategy needs exactly one of batchSize and batchPercent");
  if (r.rolloutStrategy === "ALL_AT_ONCE" && named !== 0)
    throw badInput("batchSize", "batchSize and batchPercent apply to the ROLLING strategy only");
  return r;
}
