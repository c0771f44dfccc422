import {
  TypeInfo,
  createSourceEventStream,
  execute,
  print,
  subscribe,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";
import type { AgentDeploymentEventModel } from "./types.js";

/**
 * The only fields an agentDeployments result may be shared across subscribers for: they are
 * the same for every agent that receives the event and never change (objects are immutable).
 * Anything else (a new field, one that filters by identity such as `events`, or one that can
 * change such as `stack`) makes the operation execute per subscriber: sharing fails closed.
 */
export const SHAREABLE_FIELDS: ReadonlySet<string> = new Set([
  "Subscription.agentDeployments",
  "AgentDeploymentEvent.type",
  "AgentDeploymentEvent.stackId",
  "AgentDeploymentEvent.deploymentObject",
  "DeploymentObject.id",
  "DeploymentObject.sequenceId",
  "DeploymentObject.yamlContent",
  "DeploymentObject.yamlChecksum",
  "DeploymentObject.isDeletionMarker",
  "DeploymentObject.submittedAt",
  "DeploymentObject.createdAt",
  // Where a release job's object came from (src/stickers): resolved from the object alone, the
  // same for every reader. Its driftPolicy may change later, so a cached result can lag an
  // environment update; the agent takes the current policy from each sticker report's answer.
  "DeploymentObject.releaseContext",
  "ReleaseContext.taskId",
  "ReleaseContext.releaseId",
  "ReleaseContext.releaseName",
  "ReleaseContext.promotionId",
  "ReleaseContext.environmentId",
  "ReleaseContext.environmentName",
  "ReleaseContext.digests",
  "ReleaseContext.stickerNamespace",
  "ReleaseContext.driftPolicy",
  "ComponentDigest.component",
  "ComponentDigest.image",
  "ComponentDigest.tag",
  "ComponentDigest.digest",
  "ComponentDigest.semver",
]);

/** Whether every field the document selects (fragments included) is on the allowlist. */
export function isShareable(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let ok = true;
  let agentDeployments = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === "__typename") return;
        const parent = typeInfo.getParentType()?.name;
        const name = `${parent}.${node.name.value}`;
        if (name === "Subscription.agentDeployments") agentDeployments = true;
        if (!SHAREABLE_FIELDS.has(name)) ok = false;
      },
    }),
  );
  return ok && agentDeployments;
}

function eventKey(event: AgentDeploymentEventModel): string {
  return event.deploymentObject ? `D:${event.deploymentObject.id}` : `U:${event.stackId}`;
}

const MAX_CACHED = 2048;

/**
 * One agentDeployments result handed to every subscriber that asked the same question, with its
 * JSON serialised once (graphql/ws-server.ts splices it into each subscriber's `next` frame
 * instead of stringifying it per subscriber). Built only from documents `isShareable` accepts.
 */
export class SharedResult implements ExecutionResult {
  readonly data: ExecutionResult["data"];
  readonly errors: ExecutionResult["errors"];
  // An ES private field: not an own enumerable property, so never spread into a payload.
  #json: string | undefined;

  constructor(result: ExecutionResult) {
    this.data = result.data;
    this.errors = result.errors;
  }

  /** `{"data":…}` as graphql-ws would write it for a result without errors. */
  get json(): string {
    this.#json ??= JSON.stringify({ data: this.data });
    return this.#json;
  }
}

/**
 * agentDeployments results shared by every subscriber asking the same question: executed once
 * per (operation text and variables other than the cursor and agent, event), kept for the last
 * MAX_CACHED events. Used by createSharedSubscribe and graphql/direct-deployments.ts alike.
 */
export class SharedResults {
  private readonly results = new Map<string, SharedResult | Promise<SharedResult>>();
  private readonly infoOf = new WeakMap<DocumentNode, { text: string; shareable: boolean }>();

  /** The document's printed text and whether it may be shared (isShareable), computed once per document. */
  info(schema: GraphQLSchema, document: DocumentNode): { text: string; shareable: boolean } {
    let info = this.infoOf.get(document);
    if (!info) this.infoOf.set(document, (info = { text: print(document), shareable: isShareable(schema, document) }));
    return info;
  }

  /** What subscribers must agree on to share a result: the text and the variables that are not theirs alone. */
  operationKey(text: string, variables: ExecutionArgs["variableValues"]): string {
    const { cursor: _c, after: _a, agentId: _g, ...rest } = variables ?? {};
    return `${text}\u0000${JSON.stringify(rest)}`;
  }

  /** `args` are the first asking subscriber's; the shareable fields do not read its context. */
  resultFor(operationKey: string, args: ExecutionArgs, event: AgentDeploymentEventModel): SharedResult | Promise<SharedResult> {
    const key = `${operationKey}\u0000${eventKey(event)}`;
    let result = this.results.get(key);
    if (!result) {
      const executed = execute({ ...args, rootValue: event });
      result = executed instanceof Promise ? executed.then((r) => new SharedResult(r)) : new SharedResult(executed);
      if (this.results.size >= MAX_CACHED) {
        const oldest = this.results.keys().next();
        if (!oldest.done) this.results.delete(oldest.value);
      }
      this.results.set(key, result);
    }
    return result;
  }
}

/**
 * graphql-ws `subscribe` that executes an agentDeployments payload once per (operation text,
 * event) and hands the same result to every agent that asked the same question: with 10,000
 * agents on one stack, one new object is executed once, not 10,000 times. Operations selecting
 * any field off SHAREABLE_FIELDS execute per subscriber.
 */
export function createSharedSubscribe(results = new SharedResults()) {
  return async function sharedSubscribe(args: ExecutionArgs) {
    const info = results.info(args.schema, args.document);
    if (!info.shareable) return subscribe(args);
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const operationKey = results.operationKey(info.text, args.variableValues);
    // graphql-js types the source stream loosely; its events are what agentDeployments' subscribe yields.
    const iterator = (source as AsyncIterable<AgentDeploymentEventModel>)[Symbol.asyncIterator]();
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        const step = await iterator.next();
        if (step.done) return { value: undefined, done: true };
        return { value: await results.resultFor(operationKey, args, step.value), done: false };
      },
      async return() {
        await iterator.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return mapped;
  };
}
