import { describe, expect, it } from "vitest";
import { OPERATIONS, assertConforms } from "./spec.js";

// The judge itself must be able to say no, or the conformance test could not fail.
describe("the OpenAPI judge", () => {
  it("knows all 95 operations of Brokkr's spec", () => {
    expect(OPERATIONS.size).toBe(95);
    expect(OPERATIONS.get("search_agent")).toEqual({ operationId: "search_agent", method: "GET", path: "/agents/" });
  });

  it("accepts a body that matches the operation's schema", () => {
    expect(() =>
      assertConforms("POST", "/auth/pak", 200, { admin: true, agent: null, generator: null, readonly: false }),
    ).not.toThrow();
  });

  it("refuses a body missing a required field, of a wrong type, or a bad format", () => {
    expect(() => assertConforms("POST", "/auth/pak", 200, { admin: true })).toThrow(/readonly/);
    expect(() => assertConforms("POST", "/auth/pak", 200, { admin: "yes", readonly: false })).toThrow(/boolean/);
    const object = {
      id: "not-a-uuid",
      sequence_id: 1,
      stack_id: crypto.randomUUID(),
      yaml_content: "",
      yaml_checksum: "",
      submitted_at: new Date().toISOString(),
      is_deletion_marker: false,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      deleted_at: null,
    };
    expect(() => assertConforms("GET", "/agents/{id}/target-state", 200, [object])).toThrow(/uuid/);
  });

  it("refuses a status code the operation does not list, and a path the spec does not have", () => {
    expect(() => assertConforms("POST", "/agents/{id}/heartbeat", 200, undefined)).toThrow(/allows only 204/);
    expect(() => assertConforms("GET", "/nowhere", 200, {})).toThrow(/not an operation/);
  });

  it("requires the error shape {code, message} on error responses", () => {
    expect(() => assertConforms("GET", "/agents/{id}/target-state", 403, { error: "forbidden" })).toThrow(/code/);
    expect(() => assertConforms("GET", "/agents/{id}/target-state", 403, { code: "forbidden", message: "no" })).not.toThrow();
  });
});
