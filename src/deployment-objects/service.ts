import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database } from "../db/client.js";
import { getManagedStack } from "../stacks/service.js";
import * as store from "./store.js";
import { sha256Hex, validateManifestYaml } from "./yaml.js";

export async function createDeploymentObject(db: Database, identity: Identity, input: { stackId: string; yamlContent: string }) {
  validateManifestYaml(input.yamlContent);
  const yamlChecksum = sha256Hex(input.yamlContent);
  return inTransaction(db, async (tx) => {
    const stack = await getManagedStack(tx, identity, input.stackId, "stackId");
    return store.insertObject(tx, {
      stackId: stack.id,
      generatorId: stack.generatorId,
      yamlContent: input.yamlContent,
      yamlChecksum,
    });
  });
}
