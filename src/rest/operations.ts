import spec from "../../openapi/brokkr-v1.json" with { type: "json" };

/*
 * Method and path of each operation of Brokkr's REST API v1, read from its spec (the contract),
 * so a route names only its operationId. The bundle inlines the JSON.
 */
export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
}

const METHODS = ["get", "post", "put", "patch", "delete"];

export const SPEC_OPERATIONS: ReadonlyMap<string, SpecOperation> = new Map(
  Object.entries(spec.paths as Record<string, Record<string, { operationId?: string }>>).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method, op]) => METHODS.includes(method) && op.operationId)
      .map(
        ([method, op]) =>
          [String(op.operationId), { operationId: String(op.operationId), method: method.toUpperCase(), path }] as const,
      ),
  ),
);

/** A path template (`/agents/{id}/labels/{label}`) as a matcher of decoded path segments. */
export function pathMatcher(template: string): (segments: string[]) => Record<string, string> | null {
  const parts = template.split("/").slice(1);
  return (segments) => {
    if (segments.length !== parts.length) return null;
    const params: Record<string, string> = {};
    for (const [i, part] of parts.entries()) {
      const segment = segments[i] ?? "";
      if (part.startsWith("{")) {
        if (segment === "") return null;
        params[part.slice(1, -1)] = segment;
      } else if (part !== segment) return null;
    }
    return params;
  };
}
