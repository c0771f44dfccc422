import { componentLoaders } from "../components/loaders.js";
import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { templateLoaders } from "../templates/loaders.js";
import { listPromotionPage } from "../promotions/queries.js";
import { releaseLoaders } from "./loaders.js";
import * as service from "./service.js";

const missing = (what: string, id: string) => new Error(`${what} ${id} of a release is missing`);

export const releaseResolvers: Resolvers = {
  Query: {
    releases: (_, { status, first, after }, { db, identity }) =>
      service.listReleases(db, identity, status, pageArgs(first, after)),
    release: (_, { id }, { db, identity }) => service.getRelease(db, identity, id),
  },
  Mutation: {
    createRelease: async (_, { input }, { db, identity }) => ({ release: await service.createRelease(db, identity, input) }),
    updateRelease: async (_, { input }, { db, identity }) => ({ release: await service.updateRelease(db, identity, input) }),
    setReleaseStatus: async (_, { input }, { db, identity }) => ({
      release: await service.setReleaseStatus(db, identity, input),
    }),
  },
  Release: {
    components: (r, _, ctx) => releaseLoaders(ctx).components.load(r.id),
    // A release pins its template version: whoever may read the release reads what it renders.
    template: async (r, _, ctx) =>
      (await templateLoaders(ctx).template.load(r.templateId)) ?? Promise.reject(missing("template", r.templateId)),
    deployedTo: (r, _, ctx) => releaseLoaders(ctx).deployedTo.load(r.id),
    promotions: (r, { first, after }, ctx) => listPromotionPage(ctx.db, ctx.identity, { releaseId: r.id, first, after }),
  },
  ReleaseComponent: {
    component: async (l, _, ctx) =>
      (await componentLoaders(ctx).component.load(l.componentId)) ?? Promise.reject(missing("component", l.componentId)),
    version: async (l, _, ctx) =>
      (await componentLoaders(ctx).version.load(l.versionId)) ?? Promise.reject(missing("version", l.versionId)),
    image: async (l, _, ctx) => {
      const [component, version] = await Promise.all([
        componentLoaders(ctx).component.load(l.componentId),
        componentLoaders(ctx).version.load(l.versionId),
      ]);
      if (!component || !version) throw missing("version", l.versionId);
      return `${component.imageRepository}@${version.digest}`;
    },
  },
};
