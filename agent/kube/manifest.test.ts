import { describe, expect, it } from "vitest";
import { ManifestError, orderForApply, orderForDelete, parseManifests } from "./manifest.ts";

describe("parseManifests", () => {
  it("parses every document of a multi-document YAML and skips empty ones", () => {
    const yaml = [
      "---",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v",
      "",
      "# only a comment",
      "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b",
    ].join("\n---\n");
    const manifests = parseManifests(yaml);
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(["ConfigMap/a", "Secret/b"]);
    expect(manifests[0]!.data).toEqual({ k: "v" });
  });

  it("returns nothing for empty content", () => {
    expect(parseManifests("")).toEqual([]);
    expect(parseManifests("---\n---\n")).toEqual([]);
  });

  it("fails the whole object on a bad document with the parser's line and column", () => {
    const yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
    expect(() => parseManifests(yaml)).toThrow(ManifestError);
    expect(() => parseManifests(yaml)).toThrow(/document 2: .*line \d+, column \d+/s);
  });

  it("rejects a document without kind or name", () => {
    expect(() => parseManifests("apiVersion: v1\nmetadata:\n  name: a")).toThrow("document 1: kind is required");
    expect(() => parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {}")).toThrow(
      "document 1 (ConfigMap): metadata.name is required",
    );
    expect(() => parseManifests("- a\n- b")).toThrow("document 1: expected a mapping, got a sequence");
  });
});

describe("ordering", () => {
  const items = [
    { apiVersion: "v1", kind: "ConfigMap", n: 1 },
    { apiVersion: "example.com/v1", kind: "Widget", n: 2 },
    { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", n: 3 },
    { apiVersion: "v1", kind: "Namespace", n: 4 },
    { apiVersion: "apps/v1", kind: "Deployment", n: 5 },
    { apiVersion: "v1", kind: "Namespace", n: 6 },
  ];

  it("applies namespaces first, then CRDs, then the rest in their original order", () => {
    expect(orderForApply(items).map((i) => i.n)).toEqual([4, 6, 3, 1, 2, 5]);
  });

  it("deletes dependents first and namespaces last", () => {
    expect(orderForDelete(items).map((i) => i.n)).toEqual([1, 2, 5, 3, 4, 6]);
  });
});
