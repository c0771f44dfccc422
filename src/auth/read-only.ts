import { defaultFieldResolver, type GraphQLSchema } from "graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { refuseReadOnly } from "./policy.js";

/**
 * A read-only user (VIEWER, APPROVER) resolves with the admin's role, so every read the admin may
 * make it may make too; this guard is what keeps it from changing anything. It wraps every root
 * mutation field once, at schema build, so a mutation added later is refused without anyone
 * remembering to (HTTP and websockets run the same resolvers). Before the field's own resolver:
 * nothing is read or parsed for a refused call.
 */
export function refuseMutationsByReadOnlyUsers(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, context: GraphQLContext, info) => {
      refuseReadOnly(context.identity);
      return resolve(source, args, context, info);
    };
  }
  return schema;
}
