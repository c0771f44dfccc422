import { beforeAll, describe, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "../../test/broker.js";
import { createAgent } from "../../test/factories.js";

let broker: TestBroker;
beforeAll(async () => {
  broker = await startTestBroker();
});

describe("a request path with a malformed percent-escape", () => {
  it("is answered 400 BAD_USER_INPUT as coded JSON, not 500", async () => {
    const agent = await createAgent(broker, { activate: true });
    for (const path of [
      "/api/v1/agents/%E0%A4%A/target-state",
      "/api/v1/agents/%/events",
      `/api/v1/agents/${agent.id}%ZZ/stacks`,
    ]) {
      const res = await fetch(`${broker.url}${path}`, { headers: { authorization: `Bearer ${agent.pak}` } });
      expect({ path, status: res.status, body: await res.json() }).toEqual({
        path,
        status: 400,
        // The /api/v1 route table decodes its path parameters itself and names the field.
        body: {
          code: "BAD_USER_INPUT",
          field: "path",
          details: { field: "path" },
          message: "the path is not validly percent-encoded",
        },
      });
    }
  });
});

describe("a request Node refuses before routing", () => {
  it("gets a coded JSON 431 for oversized headers", async () => {
    const res = await fetch(`${broker.url}/healthz`, { headers: { "x-padding": "a".repeat(20_000) } });
    expect(res.status).toBe(431);
    expect(await res.json()).toEqual({ code: "REQUEST_HEADERS_TOO_LARGE", message: "request headers exceed the server's limit" });
  });
});
