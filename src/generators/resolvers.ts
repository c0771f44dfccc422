import { readableStackIds } from "../auth/agent-scope.js";
import { requireAdmin, requireIdentity, requireRole } from "../auth/policy.js";
import { forbidden } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import * as stacks from "../stacks/service.js";
import * as service from "./service.js";
import { idempotencyOf } from "../idempotency/service.js";
import { requireId } from "../validation.js";

function assertSelfOrAdmin(identity: { role: string; id: string | null }, generatorId: string) {
  if (identity.role === "ADMIN") return;
  if (identity.role === "GENERATOR" && identity.id === generatorId) return;
  throw forbidden();
}

export const generatorResolvers: Resolvers = {
  Query: {
    generators: (_, args, { db, identity }) => {
      const who = requireRole(identity, "ADMIN", "GENERATOR");
      return service.listGenerators(db, pageArgs(args.first, args.after), who.role === "GENERATOR" ? who.id : undefined);
    },
    generator: async (_, { id }, { db, identity }) => {
      const who = requireRole(identity, "ADMIN", "GENERATOR");
      assertSelfOrAdmin(who, requireId("id", id));
      return service.getGenerator(db, id);
    },
  },
  Mutation: {
    createGenerator: async (_, { input }, ctx) => ({
      ...(await service.createGenerator(ctx.db, requireAdmin(ctx.identity), input, idempotencyOf(input, ctx))),
      clientMutationId: input.clientMutationId ?? null,
    }),
    rotateGeneratorPak: async (_, { input }, { db, identity }) => {
      assertSelfOrAdmin(requireIdentity(identity), requireId("id", input.id));
      return service.rotateGeneratorPak(db, requireId("id", input.id));
    },
    deleteGenerator: (_, { input }, { db, identity }) => {
      requireAdmin(identity);
      return service.deleteGenerator(db, input.id);
    },
  },
  Generator: {
    // An agent reaches a generator through a stack or its registrations: it still sees only
    // the stacks that reach it.
    stacks: async (generator, args, { db, identity }) => {
      const ids = identity?.role === "AGENT" ? await readableStackIds(db, identity.id) : undefined;
      return stacks.listStacks(db, { generatorId: generator.id, ids }, pageArgs(args.first, args.after));
    },
  },
};
