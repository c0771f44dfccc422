import { beforeAll, describe, expect, it, vi } from "vitest";
import * as yaml from "yaml";
import { errorCode, startTestBroker, type TestBroker } from "../../test/broker.js";
import { CONFIGMAP_YAML, createAgent, createGenerator, createStack } from "../../test/factories.js";

// Spies on the real parser (it still parses) to see whether a request reached it.
vi.mock("yaml", async (importOriginal) => {
  const real = await importOriginal<typeof import("yaml")>();
  return { ...real, parseAllDocuments: vi.fn(real.parseAllDocuments) };
});
const parser = vi.mocked(yaml.parseAllDocuments);

let broker: TestBroker;
let gen: { id: string; pak: string };
const CREATE = `mutation($s: ID!, $y: String!) { createDeploymentObject(input: { stackId: $s, yamlContent: $y }) { deploymentObject { id } } }`;
// A quarter million empty documents in about 1 MB: seconds of parsing before the limits.
const STREAM = "---\n".repeat(250_000);

beforeAll(async () => {
  broker = await startTestBroker({ BROKKR__BROKER__MAX_YAML_DOCUMENTS: "1000" });
  gen = await createGenerator(broker);
});

describe("deployment-object YAML is parsed only after the caller and the limits allow it", () => {
  it("refuses an inactive agent's 1 MB stream of documents with FORBIDDEN before parsing", async () => {
    const stack = await createStack(broker, gen.pak);
    const agent = await createAgent(broker);
    parser.mockClear();
    expect(errorCode(await broker.gql(CREATE, { s: stack.id, y: STREAM }, agent.pak))).toBe("FORBIDDEN");
    expect(parser).not.toHaveBeenCalled();
  });

  it("refuses the owner's stream of a quarter million documents by count, before parsing", async () => {
    const stack = await createStack(broker, gen.pak);
    parser.mockClear();
    const result = await broker.gql(CREATE, { s: stack.id, y: STREAM }, gen.pak);
    expect(errorCode(result)).toBe("PAYLOAD_TOO_LARGE");
    expect(result.errors?.[0]?.extensions?.field).toBe("yamlContent");
    expect(result.errors?.[0]?.message).toMatch(/BROKKR__BROKER__MAX_YAML_DOCUMENTS/);
    expect(parser).not.toHaveBeenCalled();
  });

  it("refuses a generator's large manifest for another generator's stack with FORBIDDEN before parsing", async () => {
    const stranger = await createGenerator(broker);
    const stack = await createStack(broker, stranger.pak);
    parser.mockClear();
    const yaml = Array.from({ length: 900 }, (_, i) => `${CONFIGMAP_YAML(`c${i}`)}data:\n  k: ${"v".repeat(100)}\n`).join(
      "---\n",
    );
    expect(yaml.length).toBeGreaterThan(64 * 1024);
    expect(errorCode(await broker.gql(CREATE, { s: stack.id, y: yaml }, gen.pak))).toBe("FORBIDDEN");
    expect(parser).not.toHaveBeenCalled();
  });

  it("parses content within the limits once", async () => {
    const stack = await createStack(broker, gen.pak);
    parser.mockClear();
    expect(errorCode(await broker.gql(CREATE, { s: stack.id, y: CONFIGMAP_YAML("ok") }, gen.pak))).toBeUndefined();
    expect(parser).toHaveBeenCalledTimes(1);
  });
});
