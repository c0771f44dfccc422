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
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]", "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]"].join("\n");
    expect(errorOf(bomb)).toMatchObject({ code: "BAD_USER_INPUT", field: "yamlContent" });
  });

  it("checksums the exact UTF-8 content", () => {
    const content = "name: ünïcödé\n";
    expect(sha256Hex(content)).toBe(createHash("sha256").update(Buffer.from(content, "utf8")).digest("hex"));
  });
});
