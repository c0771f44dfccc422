import { defaultFieldResolver, type GraphQLSchema } from "graphql";
import type { GraphQLContext } from "../graphql/context.js";
import { refuseReadOnly } from "./policy.js";

/** The only mutations an APPROVER user may call: deciding on a promotion is what the role is for. */
const APPROVER_MUTATIONS: ReadonlySet<string> = new Set(["approvePromotion", "rejectPromotion"]);

/**
 * A read-only user (VIEWER, APPROVER) resolves with the admin's role, so every read the admin may
 * make it may make too; this guard is what keeps it from changing anything. It wraps every root
 * mutation field once, at schema build, so a mutation added later is refused without anyone
 * remembering to (HTTP and websockets run the same resolvers). Before the field's own resolver:
 * nothing is read or parsed for a refused call. APPROVER users pass for APPROVER_MUTATIONS only
 * (an allowlist: nothing added later slips through).
 */
export function refuseMutationsByReadOnlyUsers(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    const resolve = field.resolve ?? defaultFieldResolver;
    const approversMayCall = APPROVER_MUTATIONS.has(field.name);
    field.resolve = (source, args, context: GraphQLContext, info) => {
      if (!(approversMayCall && context.identity?.role === "ADMIN" && context.identity.user?.role === "APPROVER"))
        refuseReadOnly(context.identity);
      return resolve(source, args, context, info);
    };
  }
  return schema;
}
