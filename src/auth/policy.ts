import { forbidden, unauthenticated } from "../errors.js";
import type { Identity } from "./identity.js";

export function requireIdentity(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
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
