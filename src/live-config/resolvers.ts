import type { Resolvers } from "../generated/graphql.js";
import { describeConfiguration, reloadConfiguration, reloadMessage } from "./service.js";

export const liveConfigResolvers: Resolvers = {
  Query: {
    configuration: (_, __, { identity, liveConfig }) => describeConfiguration(liveConfig, identity),
  },
  Mutation: {
    reloadConfiguration: (_, __, { identity, liveConfig }) => {
      const result = reloadConfiguration(liveConfig, identity);
      return { ...result, message: reloadMessage(result) };
    },
  },
};
