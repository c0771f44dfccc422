import type { Resolvers } from "../generated/graphql.js";
import { pageArgs } from "../graphql/pagination.js";
import { createUser, deleteUser, findUser, listUsers, rotateUserPak } from "./service.js";

export const userResolvers: Resolvers = {
  Query: {
    users: (_, { first, after }, { db, identity }) => listUsers(db, identity, pageArgs(first, after)),
  },
  Me: {
    user: (_, __, { db, identity }) => (identity?.role === "ADMIN" && identity.user ? findUser(db, identity.user.id) : null),
  },
  Mutation: {
    createUser: (_, { input }, { db, identity }) => createUser(db, identity, input),
    rotateUserPak: (_, { input }, { db, identity }) => rotateUserPak(db, identity, input.id),
    deleteUser: (_, { input }, { db, identity }) => deleteUser(db, identity, input.id),
  },
};
