import type { Identity } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { CommitHook } from "../delivery/commit-feed.js";
import { getManagedStack } from "../stacks/service.js";
import { forbidden, fromDatabaseError } from "../errors.js";
import { requireId } from "../validation.js";
import * as store from "./store.js";
import { sha256Hex, validateManifestYaml } from "./yaml.js";

/** Admin or the stack's generator; one statement on the happy path; `committed` wakes delivery. */
export async function createDeploymentObject(
  db: Database,
  identity: Identity,
  input: { stackId: string; yamlContent: string },
  committed: CommitHook,
) {
  validateManifestYaml(input.yamlContent);
  if (identity.role === "AGENT") throw forbidden();
  const object = await store.insertObjectIntoLiveStack(db, {
    stackId: requireId("stackId", input.stackId),
    ownerGeneratorId: identity.role === "GENERATOR" ? identity.id : null,
    yamlContent: input.yamlContent,
    yamlChecksum: sha256Hex(input.yamlContent),
  }).catch((err: unknown) => {
    // The stack was deleted between this statement's read and its lock (migration 0005): NOT_FOUND.
    throw fromDatabaseError(err);
  });
  if (object) {
    committed.objectsCommitted();
    return object;
  }
  // Nothing inserted: say why (NOT_FOUND or FORBIDDEN), as getManagedStack decides.
  await getManagedStack(db, identity, input.stackId, "stackId");
  throw forbidden();
}
