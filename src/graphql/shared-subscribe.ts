import {
  createSourceEventStream,
  execute,
  print,
  subscribe,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
} from "graphql";
import type { AgentDeploymentEventModel } from "../delivery/types.js";

// Fields whose value depends on who asks (they filter by identity) or may change (a stack can
// be renamed): never shared.
const IDENTITY_DEPENDENT = new Set(["events", "targetedAgents", "targets", "registeredGenerators", "stack"]);

function shareable(document: DocumentNode): boolean {
  let ok = true;
  let agentDeployments = false;
  visit(document, {
    Field(node) {
      if (node.name.value === "agentDeployments") agentDeployments = true;
      if (IDENTITY_DEPENDENT.has(node.name.value)) ok = false;
    },
  });
  return ok && agentDeployments;
}

function eventKey(event: AgentDeploymentEventModel): string {
  return event.deploymentObject ? `D:${event.deploymentObject.id}` : `U:${event.stackId}`;
}

const MAX_CACHED = 2048;

/**
 * graphql-ws `subscribe` that executes an agentDeployments payload once per (operation text,
 * event) and hands the same result to every agent that asked the same question: with 10,000
 * agents on one stack, one new object is executed once, not 10,000 times. Operations whose
 * selection depends on the caller's identity fall back to per-subscriber execution.
 */
export function createSharedSubscribe() {
  const results = new Map<string, ExecutionResult | Promise<ExecutionResult>>();
  const textOf = new WeakMap<DocumentNode, { text: string; shareable: boolean }>();

  return async function sharedSubscribe(args: ExecutionArgs) {
    let info = textOf.get(args.document);
    if (!info) textOf.set(args.document, (info = { text: print(args.document), shareable: shareable(args.document) }));
    if (!info.shareable) return subscribe(args);
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    const { cursor: _c, after: _a, agentId: _g, ...rest } = (args.variableValues ?? {}) as Record<string, unknown>;
    const operationKey = `${info.text}\u0000${JSON.stringify(rest)}`;
    const iterator = (source as AsyncIterable<AgentDeploymentEventModel>)[Symbol.asyncIterator]();
    const resultFor = (event: AgentDeploymentEventModel) => {
      const key = `${operationKey}\u0000${eventKey(event)}`;
      let result = results.get(key);
      if (!result) {
        result = execute({ ...args, rootValue: event }) as ExecutionResult | Promise<ExecutionResult>;
        if (results.size >= MAX_CACHED) results.delete(results.keys().next().value!);
        results.set(key, result);
      }
      return result;
    };
    const mapped: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        const step = await iterator.next();
        if (step.done) return { value: undefined, done: true };
        return { value: await resultFor(step.value), done: false };
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
