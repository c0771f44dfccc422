import type { GraphQLResolveInfo } from "graphql";
import { describe, expect, it } from "vitest";
import { BrokkrError } from "../errors.js";
import type { GraphQLContext } from "../graphql/context.js";
import { buildSchema } from "../graphql/schema.js";
import type { Identity } from "./identity.js";

const schema = buildSchema();
const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});
const user = (role: "APPROVER" | "VIEWER"): Identity => ({ role: "ADMIN", id: null, user: { id: "u", role } });

/** What the guard does for `identity` before the field's own resolver (which has no database here). */
async function refusal(field: (typeof mutations)[number], identity: Identity): Promise<string | null> {
  const ctx = { identity } as GraphQLContext;
  try {
    await field.resolve?.(undefined, {}, ctx, {} as GraphQLResolveInfo);
  } catch (err) {
    if (err instanceof BrokkrError && err.code === "FORBIDDEN" && err.message.startsWith("read-only user")) return err.message;
  }
  return null;
}

describe("read-only users and mutations", () => {
  it("refuses an APPROVER every mutation but approvePromotion and rejectPromotion", async () => {
    expect(mutations.length).toBeGreaterThan(50);
    const passed: string[] = [];
    for (const field of mutations) if ((await refusal(field, user("APPROVER"))) === null) passed.push(field.name);
    expect(passed.sort()).toEqual(["approvePromotion", "rejectPromotion"]);
  });

  it("refuses a VIEWER every mutation, approvals included", async () => {
    for (const field of mutations) expect(await refusal(field, user("VIEWER")), field.name).not.toBeNull();
  });
});
