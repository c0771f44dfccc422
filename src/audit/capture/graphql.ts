import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import type { GraphQLContext } from "../../graphql/context.js";
import { actorOf, type AuditEntry, type AuditSink, originColumns } from "../entry.js";
import { graphqlAction, idCandidates, nestedCandidates, pickResource, resourceTypeOf } from "./naming.js";
import { outcomeOf } from "./outcome.js";
import { redactInput } from "./redact.js";

/**
 * Records every executed mutation field, over HTTP and graphql-ws alike, by wrapping the
 * resolvers of the schema's Mutation type once the schema is built: fields other features add
 * are covered without a line of theirs. Both transports execute this one schema, so neither
 * can skip it. The record is queued (never awaited), after the resolver settles.
 */
export function auditMutations(schema: GraphQLSchema, audit: AuditSink): GraphQLSchema {
  const mutation = schema.getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const resolve: GraphQLFieldResolver<unknown, GraphQLContext> = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: GraphQLContext, info) => {
      try {
        const result = await resolve(source, args, context, info);
        audit.record(mutationEntry(field.name, args, context, result, undefined));
        return result;
      } catch (err) {
        audit.record(mutationEntry(field.name, args, context, undefined, err ?? new Error("rejected")));
        throw err;
      }
    };
  }
  return schema;
}

export function mutationEntry(
  field: string,
  args: Record<string, unknown>,
  context: Pick<GraphQLContext, "identity" | "origin">,
  result: unknown,
  err: unknown,
): AuditEntry {
  const action = graphqlAction(field);
  const input = (args.input ?? args) as Record<string, unknown> | null;
  const actor = actorOf(context.identity);
  const resource = pickResource(resourceTypeOf(action), [
    { type: resourceTypeOf(action), id: input?.id },
    ...idCandidates(input),
    ...nestedCandidates(result),
    { type: actor.actorType, id: actor.actorId },
  ]);
  const origin = originColumns(context.origin);
  return {
    at: new Date(),
    ...actor,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    details: {
      via: context.origin?.via ?? "graphql",
      operation: field,
      input: redactInput(args.input ?? args),
      ...outcomeOf(err),
      ...(resource.ref ? { resource_ref: resource.ref } : {}),
      ...origin.extra,
    },
    ipAddress: origin.ipAddress,
    userAgent: origin.userAgent,
  };
}
