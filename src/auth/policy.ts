import { forbidden, notFound, unauthenticated } from "../errors.js";
import type { Identity } from "./identity.js";

export function requireIdentity(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/** A user whose role is not ADMIN (VIEWER, APPROVER): reads what the admin reads, changes nothing. */
export function isReadOnly(identity: Identity | null): boolean {
  return identity?.role === "ADMIN" && identity.user !== undefined && identity.user.role !== "ADMIN";
}

/** Refuses any change by a read-only user; every mutation and REST write passes here first. */
export function refuseReadOnly(identity: Identity | null): void {
  if (isReadOnly(identity)) throw forbidden("read-only user: this key changes nothing");
}

export function requireAdmin(identity: Identity | null): Identity {
  const who = requireIdentity(identity);
  if (who.role !== "ADMIN") throw forbidden("admin only");
  return who;
}

export function requireRole(identity: Identity | null, ...roles: Identity["role"][]): Identity {
  const who = requireIdentity(identity);
  if (!roles.includes(who.role)) throw forbidden();
  return who;
}

/** Admin, or the generator that owns the stack. */
export function assertOwnsStack(identity: Identity, stack: { generatorId: string }): void {
  if (identity.role === "ADMIN") return;
  if (identity.role === "GENERATOR" && identity.id === stack.generatorId) return;
  throw forbidden();
}

/** Admin, or the agent itself. */
export function assertAgentSelfOrAdmin(identity: Identity, agentId: string): void {
  if (identity.role === "ADMIN") return;
  if (identity.role === "AGENT" && identity.id === agentId) return;
  throw forbidden();
}

/**
 * What a caller learns of an id it may not see: the admin sees everything, so "not found" is
 * true for it; anyone else gets FORBIDDEN for a missing id exactly as for another owner's, so
 * existence does not leak.
 */
export function missingOrHidden(identity: Identity, what: string) {
  return identity.role === "ADMIN" ? notFound(what) : forbidden();
}

export function ownsStack(identity: Identity, stack: { generatorId: string }): boolean {
  return identity.role === "ADMIN" || (identity.role === "GENERATOR" && identity.id === stack.generatorId);
}
