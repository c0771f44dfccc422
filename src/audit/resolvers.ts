import { JSONResolver } from "graphql-scalars";
import { requireAdmin } from "../auth/policy.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { auditLogPage, checkFilter, verifyChain, verifyRowsLimit } from "./service.js";
import { type ListedRow, prismaSql } from "./store.js";

/** A listed row as GraphQL's AuditLogEntry. */
const entryOf = (r: ListedRow) => ({
  id: r.id,
  sequence: r.seq,
  timestamp: r.timestamp,
  createdAt: r.createdAt,
  actorType: r.actorType,
  actorId: r.actorId,
  actorName: r.currentName ?? r.actorName,
  action: r.action,
  resourceType: r.resourceType,
  resourceId: r.resourceId,
  details: r.details,
  ipAddress: r.ipAddress,
  userAgent: r.userAgent,
  prevHash: r.prevHash,
  hash: r.hash,
});

// Verifying reads rows in one snapshot; a million rows take seconds, not Prisma's default 5.
const VERIFY_TRANSACTION = { isolationLevel: "RepeatableRead", timeout: 120_000, maxWait: 10_000 } as const;

export const auditResolvers: Resolvers = {
  JSON: JSONResolver,
  Query: {
    auditLogs: async (_, { filter, first, after }, { db, identity }) => {
      requireAdmin(identity);
      const checked = checkFilter(filter ?? {}, (f) => `filter.${f}`);
      const page = await auditLogPage(db, identity, checked, pageArgs(first, after));
      return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: entryOf(e.node) })) };
    },
    verifyAuditLog: async (_, { maxRows }, { db, identity }) => {
      requireAdmin(identity);
      const limit = verifyRowsLimit(maxRows);
      const result = await db.$transaction((tx) => verifyChain(prismaSql(tx), limit), VERIFY_TRANSACTION);
      const broken = result.brokenAt;
      return {
        ...result,
        brokenAt: broken ? { sequence: broken.seq, entryId: broken.id, reason: broken.reason } : null,
      };
    },
  },
};
