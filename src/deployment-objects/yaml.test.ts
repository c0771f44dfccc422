import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BrokkrError } from "../errors.js";
import { sha256Hex, validateManifestYaml } from "./yaml.js";

function errorOf(content: string): BrokkrError {
  try {
    validateManifestYaml(content);
  } catch (err) {
    expect(err).toBeInstanceOf(BrokkrError);
    return err as BrokkrError;
  }
  throw new Error("expected the YAML to be refused");
}

const CM = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

describe("manifest YAML", () => {
  it("accepts a multi-document manifest", () => {
    expect(() => validateManifestYaml(`${CM("a")}---\n${CM("b")}---\n# only a comment\n`)).not.toThrow();
  });

  it("refuses a syntax error with its line and column and the field", () => {
    const err = errorOf(`${CM("a")}---\nkind: Secret\nmetadata:\n  name: [oops\n`);
    expect(err.code).toBe("BAD_USER_INPUT");
    expect(err.field).toBe("yamlContent");
    expect(err.message).toMatch(/line \d+, column \d+/);
    const line = Number(/line (\d+)/.exec(err.message)![1]);
    expect(line).toBeGreaterThanOrEqual(6);
  });

  it("refuses a duplicate key with the line and column of the repeat", () => {
    const err = errorOf("a: 1\nb:\n  c: 1\n  c: 2\n");
    expect(err.message).toMatch(/line 4, column 3/);
  });

  it.each([
    ["a scalar", "just a string\n"],
    ["a sequence", "- a\n- b\n"],
    ["a scalar second document", `${CM("a")}---\n42\n`],
  ])("refuses %s as a document", (_, content) => {
    expect(errorOf(content).message).toMatch(/mapping/);
  });

  it("refuses empty content", () => {
    expect(errorOf("  \n").field).toBe("yamlContent");
  });

  it("refuses an alias bomb as bad input", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n");
    expect(errorOf(bomb)).toMatchObject({ code: "BAD_USER_INPUT", field: "yamlContent" });
  });

  it("refuses an alias to an anchor that does not exist", () => {
    expect(errorOf(`${CM("a")}  ref: *missing\n`)).toMatchObject({ code: "BAD_USER_INPUT", field: "yamlContent" });
  });

  it("accepts a mapping whose values use an anchor and its alias", () => {
    expect(() => validateManifestYaml(`${CM("a")}  one: &v x\n  two: *v\n`)).not.toThrow();
  });

  it("checksums the exact UTF-8 content", () => {
    const content = "name: ünïcödé\n";
    expect(sha256Hex(content)).toBe(createHash("sha256").update(Buffer.from(content, "utf8")).digest("hex"));
  });
});

describe("manifest YAML limits", () => {
  const limits = { maxYamlBytes: 1024, maxYamlDocuments: 3, maxHealthEntries: 10, idempotencyTtlSeconds: 60 };

  it("accepts as many documents as the limit allows", () => {
    expect(() => validateManifestYaml(`${CM("a")}---\n${CM("b")}---\n${CM("c")}`, limits)).not.toThrow();
  });

  it("refuses one document more, naming the limit and its variable", () => {
    let err: unknown;
    try {
      validateManifestYaml(`${CM("a")}---\n${CM("b")}---\n${CM("c")}---\n${CM("d")}`, limits);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "yamlContent" });
    expect((err as Error).message).toMatch(/more than 3 YAML documents \(BROKKR__BROKER__MAX_YAML_DOCUMENTS\)/);
  });

  it("refuses content over the byte limit, counting UTF-8 bytes", () => {
    const content = `${CM("a")}# ${"é".repeat(500)}\n`;
    expect(content.length).toBeLessThan(1024);
    expect(() => validateManifestYaml(content, limits)).toThrow(/BROKKR__BROKER__MAX_YAML_BYTES/);
  });

  it("does not count '---' inside a line as a document", () => {
    expect(() => validateManifestYaml(`${CM("a")}data:\n  x: a---b---c---d\n`, limits)).not.toThrow();
  });

  it("refuses NUL bytes and lone surrogates in the content naming the field", () => {
    expect(errorOf(`${CM("a")}# \u0000\n`)).toMatchObject({ code: "BAD_USER_INPUT", field: "yamlContent" });
    expect(errorOf(`${CM("a")}# \uD83D\n`)).toMatchObject({ code: "BAD_USER_INPUT", field: "yamlContent" });
  });
});
