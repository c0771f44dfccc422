import { getNamedType, isObjectType, parse, type GraphQLObjectType } from "graphql";
import { describe, expect, it } from "vitest";
import { buildSchema } from "../graphql/schema.js";
import { SHAREABLE_FIELDS, isShareable } from "./shared-subscribe.js";

const schema = buildSchema();
// What the shipped agent sends (agent/broker/operations.ts): it must stay shared.
const AGENT_OPERATION = `subscription AgentDeployments($after: BigInt) {
  agentDeployments(after: $after) { type stackId deploymentObject { ...AppliedObject } }
}
fragment AppliedObject on DeploymentObject { id sequenceId yamlContent yamlChecksum isDeletionMarker }`;
const shareable = (query: string) => isShareable(schema, parse(query));

/** A selection of `field` on the event or its object, with a minimal sub-selection. */
function selecting(type: GraphQLObjectType, field: string): string {
  const named = getNamedType(type.getFields()[field]!.type);
  const sub = isObjectType(named) ? " { __typename }" : "";
  const inner = `${field}${sub}`;
  return type.name === "AgentDeploymentEvent"
    ? `subscription { agentDeployments { ${inner} } }`
    : `subscription { agentDeployments { type deploymentObject { id ${inner} } } }`;
}

describe("sharing an agentDeployments result across subscribers", () => {
  it("shares the agent's own operation (fragments included) and selections of allowlisted fields", () => {
    expect(shareable(AGENT_OPERATION)).toBe(true);
    expect(
      shareable(
        `subscription { agentDeployments(after: "5") { __typename type stackId deploymentObject { id sequenceId createdAt } } }`,
      ),
    ).toBe(true);
  });

  it("executes per subscriber for every field off the allowlist, including ones added later", () => {
    const offList: string[] = [];
    for (const name of ["AgentDeploymentEvent", "DeploymentObject"]) {
      const type = schema.getType(name) as GraphQLObjectType;
      for (const field of Object.keys(type.getFields())) {
        if (SHAREABLE_FIELDS.has(`${name}.${field}`)) continue;
        offList.push(field);
        expect(shareable(selecting(type, field)), `${name}.${field}`).toBe(false);
      }
    }
    // The schema has such fields today (identity-dependent or mutable ones), so the loop ran.
    expect(offList).toEqual(expect.arrayContaining(["events", "stack", "deletedAt"]));
  });

  it("executes per subscriber for an off-list field hidden in a fragment, and for other subscriptions", () => {
    expect(
      shareable(
        `subscription { agentDeployments { deploymentObject { ...F } } } fragment F on DeploymentObject { id stack { name } }`,
      ),
    ).toBe(false);
    expect(shareable(`subscription { stackDeploymentObjects(stackId: "x") { id } }`)).toBe(false);
  });
});
