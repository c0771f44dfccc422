import type { Identity } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import { getManagedStack } from "../stacks/service.js";
import { forbidden } from "../errors.js";
import { DEFAULT_INPUT_LIMITS, requireId, type InputLimits } from "../validation.js";
import * as store from "./store.js";
import { sha256Hex, validateManifestYaml } from "./yaml.js";

/**
 * Admin or the stack's generator; one statement on the happy path. The role is checked before
 * the YAML is parsed, and the parser runs only on content within the limits.
 */
export async function createDeploymentObject(
  db: Database,
  identity: Identity,
  input: { stackId: string; yamlContent: string },
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
) {
  if (identity.role === "AGENT") throw forbidden();
  const stackId = requireId("stackId", input.stackId);
  validateManifestYaml(input.yamlContent, limits);
  const object = await store.insertObjectIntoLiveStack(db, {
    stackId,
    ownerGeneratorId: identity.role === "GENERATOR" ? identity.id : null,
    yamlContent: input.yamlContent,
    yamlChecksum: sha256Hex(input.yamlContent),
  });
  if (object) return object;
  // Nothing inserted: say why (NOT_FOUND or FORBIDDEN), as getManagedStack decides.
  await getManagedStack(db, identity, input.stackId, "stackId");
  throw forbidden();
}
