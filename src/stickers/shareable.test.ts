import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { AgentDeploymentsDocument } from "../../agent/generated/operations.js";
import { SHAREABLE_FIELDS, isShareable } from "../delivery/shared-subscribe.js";
import { buildSchema } from "../graphql/schema.js";

const schema = buildSchema();

describe("releaseContext on a shared agentDeployments payload", () => {
  it("keeps the shipped agent's subscription, releaseContext included, shared", () => {
    const text = AgentDeploymentsDocument.toString();
    expect(text).toContain("releaseContext");
    expect(isShareable(schema, parse(text))).toBe(true);
  });

  it("resolves no allowlisted field from the caller's identity", () => {
    const resolved: string[] = [];
    for (const name of SHAREABLE_FIELDS) {
      const [type = "", field = ""] = name.split(".");
      const resolve = (schema.getType(type) as { getFields?: () => Record<string, { resolve?: unknown }> }).getFields?.()[field]
        ?.resolve;
      if (typeof resolve !== "function") continue;
      resolved.push(name);
      // A resolver of a shared field sees the first subscriber's context: it must not read who that is.
      expect(resolve.toString(), name).not.toMatch(/identity|connection/);
    }
    expect(resolved).toEqual(expect.arrayContaining(["DeploymentObject.releaseContext", "ReleaseContext.stickerNamespace"]));
  });
});
