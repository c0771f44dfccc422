import fs from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "../../src/generated/brokkr-api.js";

/*
 * Brokkr's REST API v1 (openapi/brokkr-v1.json) as the judge of our /api/v1: every response a
 * conformance test receives is checked against the status codes and body schema the spec gives
 * for that operation. Nothing here is our reading of the contract; it is the contract.
 */
type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> };
type Spec = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

export const SPEC: Spec = JSON.parse(fs.readFileSync(new URL("../../openapi/brokkr-v1.json", import.meta.url), "utf8"));
const METHODS = ["get", "post", "put", "patch", "delete"];

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
// OpenAPI's numeric formats carry no constraint JSON Schema knows of; the type check stays.
for (const format of ["int32", "int64", "float", "double"]) ajv.addFormat(format, true);
ajv.addSchema({ $id: "brokkr", components: SPEC.components });

const withSpecRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/components/', '"$ref":"brokkr#/components/'));

export interface OperationRef {
  operationId: string;
  method: string;
  path: string;
}

/** Every operation of the spec, by id. */
export const OPERATIONS: Map<string, OperationRef> = new Map(
  Object.entries(SPEC.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => [op.operationId, { operationId: op.operationId, method: method.toUpperCase(), path }] as const),
  ),
);

const validators = new Map<string, ValidateFunction>();
function validatorFor(path: string, method: string, status: string): ValidateFunction | null | undefined {
  const op = SPEC.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} is not an operation of Brokkr's spec`);
  const response = op.responses[status];
  if (!response) return undefined;
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return null;
  const key = `${method} ${path} ${status}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(withSpecRefs(schema) as object)));
  return validate;
}

/** Throws unless the spec allows `status` for this operation and `body` matches its schema. */
export function assertConforms(method: string, path: string, status: number, body: unknown, checkBody = true): void {
  const validate = validatorFor(path, method, String(status));
  const where = `${method} ${path} → ${status}`;
  if (validate === undefined) {
    const allowed = Object.keys(SPEC.paths[path]?.[method.toLowerCase()]?.responses ?? {}).join(", ");
    throw new Error(`${where}: the spec allows only ${allowed}`);
  }
  if (validate === null || !checkBody) return;
  if (!validate(body))
    throw new Error(
      `${where}: body does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
}

/**
 * A client of the API generated from the spec (openapi-typescript types, openapi-fetch: the pair
 * Brokkr's TypeScript SDK is built on) that checks every response against the spec and records
 * which operations were exercised.
 */
export function specClient(baseUrl: string, exercised: Set<string>, authorization?: string) {
  const client = createClient<paths>({ baseUrl: `${baseUrl}/api/v1`, headers: authorization ? { authorization } : {} });
  const conform: Middleware = {
    async onResponse({ request, response, schemaPath }) {
      const body =
        response.status === 204 || response.headers.get("content-length") === "0" ? undefined : await response.clone().text();
      const isJson = response.headers.get("content-type")?.includes("json") ?? false;
      // A non-JSON answer (raw YAML for `Accept: application/yaml`) is checked for its status only.
      assertConforms(
        request.method,
        schemaPath,
        response.status,
        body && isJson ? JSON.parse(body) : body,
        isJson || body === undefined,
      );
      const op = SPEC.paths[schemaPath]?.[request.method.toLowerCase()];
      if (op) exercised.add(op.operationId);
    },
  };
  client.use(conform);
  return client;
}
