import { agentReceives, reachOfStack } from "./service.js";
import type { Resolvers } from "../generated/graphql.js";
import { decodeCursor, encodeCursor, pageArgs, toConnection } from "../graphql/pagination.js";
import { isUuid } from "../validation.js";

export const associationResolvers: Resolvers = {
  Stack: {
    // The parent stack is already authorized; other agents are not an agent's business.
    reachedAgents: async (stack, { first, after }, { db, identity }) => {
      const page = pageArgs(first, after);
      const [afterAgentId] = page.after ? decodeCursor(page.after, 1, ([id]) => isUuid(id ?? "")) : [null];
      const rows = await reachOfStack(db, stack.id, afterAgentId ?? null, page.first + 1);
      const visible = identity?.role === "AGENT" ? rows.filter((r) => r.agentId === identity.id) : rows;
      return toConnection(visible, page.first, (r) => encodeCursor([r.agentId]));
    },
  },
  ReachedAgent: {
    agent: async (reach, _, { loaders }) => {
      const agent = await loaders.agent.load(reach.agentId);
      if (!agent) throw new Error(`reached agent ${reach.agentId} vanished`);
      return agent;
    },
    receives: async (reach, _, { loaders }) => {
      const agent = await loaders.agent.load(reach.agentId);
      return agent ? agentReceives(agent) : false;
    },
  },
};
