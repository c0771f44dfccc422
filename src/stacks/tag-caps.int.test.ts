import { beforeAll, describe, expect, it } from "vitest";
import { ok, startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent, createGenerator, createStack, unique } from "../../test/factories.js";
import { MAX_LIST_ARGUMENT } from "../validation.js";

// Stack and agent labels and annotations are returned unpaginated and costed at MAX_LIST_ARGUMENT
// (src/graphql/limits.ts), so one mutation at a time must not grow them past it either.
let broker: TestBroker;
let gen: { id: string; pak: string };
beforeAll(async () => {
  broker = await startTestBroker();
  gen = await createGenerator(broker);
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
const full = names(MAX_LIST_ARGUMENT);
const full_annotations = full.map((key) => ({ key, value: "v" }));

const CASES = [
  [
    "addStackLabel",
    `mutation($id: ID!, $k: String!) { addStackLabel(input: { stackId: $id, label: $k }) { stack { labels } } }`,
    "label",
    "stack",
  ],
  [
    "setStackAnnotation",
    `mutation($id: ID!, $k: String!) { setStackAnnotation(input: { stackId: $id, key: $k, value: "w" }) { stack { id } } }`,
    "key",
    "stack",
  ],
  [
    "addAgentLabel",
    `mutation($id: ID!, $k: String!) { addAgentLabel(input: { agentId: $id, label: $k }) { agent { id } } }`,
    "label",
    "agent",
  ],
  [
    "setAgentAnnotation",
    `mutation($id: ID!, $k: String!) { setAgentAnnotation(input: { agentId: $id, key: $k, value: "w" }) { agent { id } } }`,
    "key",
    "agent",
  ],
] as const;

describe(`labels and annotations beyond ${MAX_LIST_ARGUMENT} per stack or agent`, () => {
  it.each(CASES)(
    "%s refuses one more with BAD_USER_INPUT, still takes a repeat or a change, and takes one again after a removal",
    async (name, doc, field, owner) => {
      const id =
        owner === "stack"
          ? (await createStack(broker, gen.pak, { name: unique("s"), labels: full, annotations: full_annotations })).id
          : (await createAgent(broker, { labels: full, annotations: full_annotations })).id;
      const pak = owner === "stack" ? gen.pak : broker.adminPak;
      const refused = await broker.gql(doc, { id, k: "one-more" }, pak);
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
      expect(refused.errors?.[0]?.message).toBe(
        `a ${owner} carries at most ${MAX_LIST_ARGUMENT} ${name.includes("Label") ? "labels" : "annotations"}; remove one first`,
      );
      ok(await broker.gql(doc, { id, k: "t0" }, pak)); // a repeat (label) or a new value (annotation) adds nothing
      const remove = name.includes("Label")
        ? `mutation($id: ID!, $k: String!) { ${name.replace("add", "remove")}(input: { ${owner}Id: $id, label: $k }) { ${owner} { id } } }`
        : `mutation($id: ID!, $k: String!) { ${name.replace("set", "remove")}(input: { ${owner}Id: $id, key: $k }) { ${owner} { id } } }`;
      ok(await broker.gql(remove, { id, k: "t1" }, pak));
      ok(await broker.gql(doc, { id, k: "one-more" }, pak));
      const read =
        owner === "stack"
          ? `query($id: ID!) { node: stack(id: $id) { labels annotations { key value } } }`
          : `query($id: ID!) { node: agent(id: $id) { labels annotations { key value } } }`;
      const node = ok(
        await broker.gql<{ node: { labels: string[]; annotations: { key: string; value: string }[] } }>(read, { id }, pak),
      ).node;
      expect(node.labels.length).toBe(MAX_LIST_ARGUMENT);
      expect(node.annotations.length).toBe(MAX_LIST_ARGUMENT);
      if (!name.includes("Label")) expect(node.annotations.find((a) => a.key === "t0")?.value).toBe("w");
    },
  );
});
