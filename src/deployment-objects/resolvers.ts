import type { Identity } from "../auth/identity.js";
import { missingOrHidden, requireIdentity } from "../auth/policy.js";
import { eventsConnection } from "../agent-events/service.js";
import type { Db } from "../db/client.js";
import { canReadStack } from "../auth/agent-scope.js";
import { forbidden } from "../errors.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { referenced } from "../graphql/loaders.js";
import { checkedText } from "../db/checked-text.js";
import { requireId } from "../validation.js";
import * as service from "./service.js";
import { idempotencyOf } from "../idempotency/service.js";
import type { DeploymentObjectRow } from "./store.js";

/** Admin; the generator owning the stack; an agent the stack reaches. */
export async function assertCanReadObject(db: Db, identity: Identity, object: DeploymentObjectRow): Promise<void> {
  if (identity.role === "ADMIN") return;
  if (identity.role === "GENERATOR" && identity.id === object.generatorId) return;
  if (identity.role === "AGENT" && (await canReadStack(db, identity.id, object.stackId))) return;
  throw forbidden();
}

export const deploymentObjectResolvers: Resolvers = {
  Query: {
    deploymentObject: async (_, { id }, { db, identity, loaders }) => {
      const who = requireIdentity(identity);
      const object = await loaders.deploymentObject.load(requireId("id", id));
      if (!object) throw missingOrHidden(who, "deployment object");
      await assertCanReadObject(db, who, object);
      return object;
    },
  },
  Mutation: {
    createDeploymentObject: async (_, { input }, ctx) => {
      const opts = { limits: ctx.limits, idempotency: idempotencyOf(input, ctx) };
      const deploymentObject = await service.createDeploymentObject(
        ctx.db,
        requireIdentity(ctx.identity),
        input,
        ctx.delivery,
        opts,
      );
      return { deploymentObject, clientMutationId: input.clientMutationId ?? null };
    },
  },
  DeploymentObject: {
    stack: (object, _, { loaders }) => referenced(loaders.stack, object.stackId),
    // An agent sees only its own events on an object.
    events: (object, { first, after }, { db, identity }) =>
      eventsConnection(
        db,
        { deploymentObjectId: object.id, ...(identity?.role === "AGENT" ? { agentId: identity.id } : {}) },
        pageArgs(first, after),
      ),
  },
  AgentEvent: {
    status: (event) => checkedText(["SUCCESS", "FAILURE"], event.status),
    agent: (event, _, { loaders }) => referenced(loaders.agent, event.agentId),
    deploymentObject: (event, _, { loaders }) => referenced(loaders.deploymentObject, event.deploymentObjectId),
  },
};
