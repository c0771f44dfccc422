import type { IdentityResolver, ResolvedKey } from "../../auth/identity.js";
import { parsePak } from "../../auth/pak.js";
import type { AuditSink } from "../entry.js";
import type { RequestOrigin } from "./origin.js";

/**
 * The identity resolver, recording each authentication failure of a client (`auth.failed`, with
 * its address and user agent, never the key). A call without an origin (a connection re-checking
 * its key) records nothing. A request without any key counts as a failure where the API refuses
 * it for that (REST, both websockets); over GraphQL HTTP it may still introspect, so only a key
 * that does not resolve is a failure there.
 */
export function auditAuthFailures(inner: IdentityResolver, audit: AuditSink): IdentityResolver {
  const resolveKey = async (authorization: string | undefined | null, origin?: RequestOrigin): Promise<ResolvedKey | null> => {
    const key = await inner.resolveKey(authorization, origin);
    if (!key && origin && (authorization || origin.via !== "graphql")) audit.record(authFailure(authorization, origin));
    return key;
  };
  return {
    cache: inner.cache,
    isAdminHash: (hash) => inner.isAdminHash(hash),
    resolveKey,
    async resolve(authorization, origin) {
      return (await resolveKey(authorization, origin))?.identity ?? null;
    },
  };
}

function authFailure(authorization: string | undefined | null, origin: RequestOrigin) {
  const reason = !authorization?.trim() ? "missing_key" : parsePak(authorization) ? "unknown_key" : "malformed_key";
  return {
    at: new Date(),
    actorType: "anonymous",
    actorId: null,
    actorName: null,
    action: "auth.failed",
    resourceType: "pak",
    resourceId: null,
    details: { via: origin.via, reason, ...(origin.forwardedFor ? { forwarded_for: origin.forwardedFor } : {}) },
    ipAddress: origin.ip,
    userAgent: origin.userAgent,
  };
}
