import DataLoader from "dataloader";
import { canReadStack } from "../auth/agent-scope.js";
import { requireAdmin, requireIdentity } from "../auth/policy.js";
import type { Db } from "../db/client.js";
import { forbidden } from "../errors.js";
import type { DiagnosticStatus as GqlStatus, Resolvers } from "../generated/graphql.js";
import type { GraphQLContext } from "../graphql/context.js";
import { referenced } from "../graphql/loaders.js";
import { pageArgs } from "../graphql/pagination.js";
import { slowConsumerGuard } from "../delivery/resolvers.js";
import type { DiagnosticRequestChangeModel } from "./changes.js";
import * as service from "./service.js";
import { type DiagnosticRequestRow, type DiagnosticResultRow, type DiagnosticStatus, resultsOfRequests } from "./store.js";

// One batching loader of results per operation context (no cache: a subscription's context lives long).
const resultLoaders = new WeakMap<object, DataLoader<string, DiagnosticResultRow | null>>();
function resultLoader(ctx: GraphQLContext): DataLoader<string, DiagnosticResultRow | null> {
  let loader = resultLoaders.get(ctx.loaders);
  if (!loader) {
    const db: Db = ctx.db;
    loader = new DataLoader(
      async (ids) => {
        const rows = new Map((await resultsOfRequests(db, ids)).map((r) => [r.requestId, r]));
        return ids.map((id) => rows.get(id) ?? null);
      },
      { cache: false },
    );
    resultLoaders.set(ctx.loaders, loader);
  }
  return loader;
}

const toStored = (status: GqlStatus | null | undefined) => (status ? (status.toLowerCase() as DiagnosticStatus) : null);

export const diagnosticResolvers: Resolvers = {
  Query: {
    diagnosticRequest: (_, { id }, { db, identity }) => service.getDiagnostic(db, requireIdentity(identity), id),
    diagnosticRequests: (_, { filter, first, after }, { db, identity }) =>
      service.listDiagnosticRequests(
        db,
        requireIdentity(identity),
        { ...filter, status: toStored(filter?.status) },
        pageArgs(first, after),
      ),
  },
  Mutation: {
    requestDiagnostics: async (_, { input }, { db, identity }) => ({
      diagnosticRequest: await service.requestDiagnostics(db, requireIdentity(identity), input),
    }),
    claimDiagnosticRequest: async (_, { input }, { db, identity }) => ({
      diagnosticRequest: await service.claimDiagnostic(db, requireIdentity(identity), input.id),
    }),
    submitDiagnosticResult: async (_, { input }, { db, identity }) => {
      const who = requireIdentity(identity);
      const result = await service.submitDiagnosticResult(db, who, input.requestId, input);
      return { result, diagnosticRequest: await service.getDiagnostic(db, who, input.requestId, "requestId") };
    },
  },
  Subscription: {
    agentDiagnosticRequests: {
      subscribe: async (_, __, ctx) => {
        const who = requireIdentity(ctx.identity);
        if (who.role !== "AGENT") throw forbidden("an agent subscribes to its own diagnostic requests");
        await service.assertActiveAgent(ctx.db, who);
        const { connection } = ctx;
        return ctx.diagnostics.subscribe(who.id, {
          onOverflow: () => connection?.close(4413, "Slow consumer: send buffer exceeded"),
          backedUp: connection ? () => connection.backedUp() : undefined,
        });
      },
      resolve: (row: DiagnosticRequestRow) => row,
    },
    diagnosticRequestChanges: {
      // The admin and read-only users, checked before the stream opens.
      subscribe: (_, __, ctx) => {
        requireAdmin(ctx.identity);
        return ctx.diagnostics.changes.subscribe(slowConsumerGuard(ctx));
      },
      resolve: (change: DiagnosticRequestChangeModel) => change,
    },
  },
  DiagnosticRequest: {
    status: (row) => row.status.toUpperCase() as GqlStatus,
    agent: (row, _, { loaders }) => referenced(loaders.agent, row.agentId),
    deploymentObject: async (row, _, { db, identity, loaders }) => {
      // What an agent reads of objects is what reaches it (auth/agent-scope), here as elsewhere.
      if (identity?.role === "AGENT" && !(await canReadStack(db, identity.id, row.stackId))) return null;
      return loaders.deploymentObject.load(row.deploymentObjectId);
    },
    result: (row, _, ctx) => (row.status === "completed" ? resultLoader(ctx).load(row.id) : null),
  },
};
