import type { Identity } from "../auth/identity.js";
import type { RequestOrigin } from "./capture/origin.js";

/** One thing to record, as the API layers hand it to the writer. */
export interface AuditEntry {
  at: Date;
  /** admin, agent, generator, system, anonymous (or a role other features add, in lower case). */
  actorType: string;
  actorId: string | null;
  /** Resolved by the writer, per batch, from the agent or generator when not given. */
  actorName?: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  details: Record<string, unknown>;
  ipAddress: string | null;
  userAgent: string | null;
}

/** What the API layers write to: never blocks, never throws (a full queue drops and counts). */
export interface AuditSink {
  record(entry: AuditEntry): void;
}

/** Accepts and forgets: for code built without an audit log (unit tests, tools). */
export const NO_AUDIT: AuditSink = { record: () => {} };

export function actorOf(identity: Identity | null | undefined): Pick<AuditEntry, "actorType" | "actorId"> {
  if (!identity) return { actorType: "anonymous", actorId: null };
  return { actorType: identity.role.toLowerCase(), actorId: identity.id ?? null };
}

/** The origin's columns, and what of it belongs in details. */
export function originColumns(origin: RequestOrigin | undefined) {
  return {
    ipAddress: origin?.ip ?? null,
    userAgent: origin?.userAgent ?? null,
    extra: origin?.forwardedFor ? { forwarded_for: origin.forwardedFor } : {},
  };
}
