import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { componentLoaders } from "./loaders.js";
import * as service from "./service.js";

export const componentResolvers: Resolvers = {
  Query: {
    components: (_, { first, after }, { db, identity }) => service.listComponents(db, identity, pageArgs(first, after)),
    component: (_, { id }, { db, identity }) => service.getComponent(db, identity, id),
  },
  Mutation: {
    createComponent: async (_, { input }, { db, identity }) => ({
      component: await service.createComponent(db, identity, input),
    }),
    registerComponentVersion: (_, { input }, { db, identity }) => service.registerComponentVersion(db, identity, input),
  },
  Component: {
    versions: (c, { first, after }, { db }) => service.listVersions(db, c.id, pageArgs(first, after)),
  },
  ComponentVersion: {
    component: async (v, _, ctx) => {
      const component = await componentLoaders(ctx).component.load(v.componentId);
      if (!component) throw new Error(`component ${v.componentId} of version ${v.id} is missing`);
      return component;
    },
  },
};
