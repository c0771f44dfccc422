import { z } from "zod";
import { healthOfObjects, healthOfStack } from "../agents/health-store.js";
import { missingOrHidden } from "../auth/policy.js";
import { assertCanReadObject } from "../deployment-objects/resolvers.js";
import { createDeploymentObject } from "../deployment-objects/service.js";
import { findObject, listObjectsOfStack } from "../deployment-objects/store.js";
import { getManagedStack } from "../stacks/service.js";
import { findStack } from "../stacks/store.js";
import { notFound } from "../errors.js";
import { created, idParams, ok, route } from "./route.js";
import { healthJson, objectJson } from "./shapes.js";

const objectBody = z.object({ yaml_content: z.string(), is_deletion_marker: z.boolean().optional() });
const flag = z.enum(["true", "false"]).transform((v) => v === "true");
const MAX_OBJECTS_LISTED = 10_000;

/** The worst status reported: failing, then degraded, then healthy; unknown without reports. */
function overall(statuses: readonly string[]): string {
  for (const status of ["failing", "degraded", "healthy"]) if (statuses.includes(status)) return status;
  return "unknown";
}

export const objectRoutes = [
  route({
    op: "list_deployment_objects",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    handle: async ({ who, params, deps }) => {
      const stack = await getManagedStack(deps.db, who, params.id);
      return ok((await listObjectsOfStack(deps.db, stack.id, undefined, MAX_OBJECTS_LISTED)).map(objectJson));
    },
  }),
  route({
    op: "create_deployment_object",
    roles: ["ADMIN", "GENERATOR"],
    params: idParams,
    query: z.object({ deletion_marker: flag.optional() }),
    // JSON `{yaml_content, is_deletion_marker}`, or raw `application/yaml` with `?deletion_marker=`.
    yaml: true,
    body: objectBody.default({ yaml_content: "" }),
    handle: async ({ who, params, query, body, deps }) => {
      const input = {
        stackId: params.id,
        yamlContent: body.yaml_content,
        isDeletionMarker: body.is_deletion_marker ?? query.deletion_marker ?? false,
      };
      return created(objectJson(await createDeploymentObject(deps.db, who, input, deps.delivery, { limits: deps.limits })));
    },
  }),
  route({
    op: "get_deployment_object",
    roles: ["ADMIN", "GENERATOR", "AGENT"],
    params: idParams,
    handle: async ({ who, params, req, deps }) => {
      const object = await findObject(deps.db, params.id);
      if (!object) throw missingOrHidden(who, "deployment object");
      await assertCanReadObject(deps.db, who, object);
      // Brokkr's SDKs fetch the manifest itself, byte for byte, with `Accept: application/yaml`.
      if (req.accepts(["application/json", "application/yaml"]) === "application/yaml")
        return { status: 200, body: object.yamlContent, type: "application/yaml" };
      return ok(objectJson(object));
    },
  }),
  route({
    op: "get_deployment_health",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ params, deps }) => {
      const object = await findObject(deps.db, params.id);
      if (!object) throw notFound("deployment object");
      const records = await healthOfObjects(deps.db, [object.id]);
      return ok({
        deployment_object_id: object.id,
        overall_status: overall(records.map((r) => r.status)),
        health_records: records.map(healthJson),
      });
    },
  }),
  route({
    op: "get_stack_health",
    roles: ["ADMIN"],
    params: idParams,
    handle: async ({ params, deps }) => {
      const stack = await findStack(deps.db, params.id);
      if (!stack) throw notFound("stack");
      const byObject = new Map<string, string[]>();
      for (const r of await healthOfStack(deps.db, stack.id))
        byObject.set(r.deployment_object_id, [...(byObject.get(r.deployment_object_id) ?? []), r.status]);
      const count = (list: string[], status: string) => list.filter((s) => s === status).length;
      const summaries = [...byObject].map(([id, list]) => ({
        id,
        status: overall(list),
        healthy_agents: count(list, "healthy"),
        degraded_agents: count(list, "degraded"),
        failing_agents: count(list, "failing"),
      }));
      return ok({ stack_id: stack.id, overall_status: overall(summaries.map((s) => s.status)), deployment_objects: summaries });
    },
  }),
];
