import type { Identity } from "../auth/identity.js";
import { inTransaction, type Database, type Db } from "../db/client.js";
import type { CommitHook } from "../delivery/commit-feed.js";
import { once, type Idempotency } from "../idempotency/service.js";
import { getManagedStack } from "../stacks/service.js";
import { forbidden, fromDatabaseError, notFound } from "../errors.js";
import { DEFAULT_INPUT_LIMITS, requireId, type InputLimits } from "../validation.js";
import { insertObjectGrouped } from "./group-insert.js";
import * as store from "./store.js";
import type { DeploymentObjectRow } from "./store.js";
import { assertYamlWithinLimits, sha256Hex, validateManifestYaml } from "./yaml.js";

const PRECHECK_BYTES = 64 * 1024;

/**
 * Admin or the stack's generator. The role is checked before the YAML is parsed, and the parser
 * runs only on content within the limits. Content large enough to cost more to parse than a
 * lookup (PRECHECK_BYTES) is parsed only after the stack's owner is checked; small content
 * keeps the happy path at one statement (an extra read cost about half the throughput of
 * 2 KB creates here), and the insert checks ownership atomically either way. `committed` wakes
 * delivery once the object has committed.
 */
export async function createDeploymentObject(
  db: Database,
  identity: Identity,
  input: { stackId: string; yamlContent: string; isDeletionMarker?: boolean },
  committed: CommitHook,
  opts: {
    limits?: InputLimits;
    idempotency?: Idempotency;
    /** Writes that belong to the new object (a template's provenance), in its transaction. */
    alongside?: (tx: Db, object: DeploymentObjectRow) => Promise<unknown>;
  } = {},
) {
  if (identity.role === "AGENT") throw forbidden();
  const stackId = requireId("stackId", input.stackId);
  if (identity.role === "GENERATOR" && input.yamlContent.length > PRECHECK_BYTES)
    await getManagedStack(db, identity, stackId, "stackId");
  // A deletion marker (Brokkr's `?deletion_marker=true`) may be empty: it removes the stack's resources.
  const limits = opts.limits ?? DEFAULT_INPUT_LIMITS;
  if (input.isDeletionMarker && input.yamlContent.trim() === "") assertYamlWithinLimits(input.yamlContent, limits);
  else validateManifestYaml(input.yamlContent, limits);
  const data = {
    isDeletionMarker: input.isDeletionMarker ?? false,
    stackId,
    ownerGeneratorId: identity.role === "GENERATOR" ? identity.id : null,
    yamlContent: input.yamlContent,
    yamlChecksum: sha256Hex(input.yamlContent),
  };
  // Without an idempotency key, concurrent creates share one statement and commit (group-insert.ts).
  const insert = async (tx: Db, grouped = false) => {
    // The stack may be deleted between this statement's read and its lock (migration 0005): NOT_FOUND.
    const inserting = grouped && tx === db ? insertObjectGrouped(db, data) : store.insertObjectIntoLiveStack(tx, data);
    const object = await inserting.catch((err: unknown) => {
      throw fromDatabaseError(err);
    });
    if (object) {
      await opts.alongside?.(tx, object);
      return object;
    }
    // Nothing inserted: say why (NOT_FOUND or FORBIDDEN), as getManagedStack decides.
    await getManagedStack(tx, identity, stackId, "stackId");
    throw forbidden();
  };
  // Without a key the insert stays one statement in its own transaction (see the store).
  const request = {
    identity,
    operation: "createDeploymentObject",
    input: { stackId, checksum: data.yamlChecksum, ...(data.isDeletionMarker ? { marker: true } : {}) },
    idempotency: opts.idempotency,
  };
  // Provenance (`alongside`) must commit with the object: then it is a transaction too.
  const inOwnTransaction = Boolean(opts.idempotency?.key || opts.alongside);
  const object = inOwnTransaction
    ? await inTransaction(db, (tx) =>
        once(
          tx,
          request,
          () => insert(tx),
          async (id) => (await store.findObject(tx, id)) ?? Promise.reject(notFound("deployment object")),
        ),
      )
    : await insert(db, input.yamlContent.length <= PRECHECK_BYTES);
  committed.objectsCommitted();
  return object;
}
