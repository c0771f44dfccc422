import { componentResolvers } from "../components/resolvers.js";
import { environmentResolvers } from "../environments/resolvers.js";
import type { Resolvers } from "../generated/graphql.js";
import { releaseResolvers } from "./resolvers.js";

/** The release catalog's resolver maps (environments, components, releases), registered as one. */
export const catalogResolvers: Resolvers[] = [environmentResolvers, componentResolvers, releaseResolvers];
