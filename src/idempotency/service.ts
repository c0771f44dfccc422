import { createHash } from "node:crypto";
import type { Identity } from "../auth/identity.js";
import type { Db } from "../db/client.js";
import { BrokkrError } from "../errors.js";
import { LIMITS, requireText, type InputLimits } from "../validation.js";
import { claimKey, findKey, recordResult } from "./store.js";

/** How a create names its key: from `clientMutationId` or the `Idempotency-Key` header. */
export interface Idempotency {
  key?: string | null;
  ttlSeconds: number;
  /** Where the key came from, for errors: "clientMutationId" (default) or "Idempotency-Key". */
  field?: string;
}

/** JSON with object keys sorted, so equal inputs hash alike whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Runs `create` once per (identity, operation, key) inside the caller's transaction `tx`, and
 * records the created id; a retry with the same key and input gets `replay(id)` instead, and
 * one with another input a CONFLICT. Without a key it just creates.
 */
export async function once<T extends { id: string }, R>(
  tx: Db,
  request: { identity: Identity; operation: string; input: unknown; idempotency?: Idempotency },
  create: () => Promise<T>,
  replay: (id: string) => Promise<R>,
): Promise<T | R> {
  const { idempotency } = request;
  if (!idempotency?.key) return create();
  const field = idempotency.field ?? "clientMutationId";
  const claim = {
    scope: `${request.identity.role}:${request.identity.id ?? ""}`,
    operation: request.operation,
    key: requireText(field, idempotency.key, LIMITS.idempotencyKey),
    requestHash: createHash("sha256")
      .update(canonical([request.operation, request.input]))
      .digest("hex"),
    ttlSeconds: idempotency.ttlSeconds,
  };
  if (await claimKey(tx, claim)) {
    const created = await create();
    await recordResult(tx, claim, created.id);
    return created;
  }
  const stored = await findKey(tx, claim);
  if (!stored || stored.requestHash !== claim.requestHash || !stored.resultId) {
    throw new BrokkrError("CONFLICT", `this ${field} was used for a different input`, field);
  }
  return replay(stored.resultId);
}

/** The key of a create: the input's clientMutationId, else the request's Idempotency-Key header. */
export function idempotencyOf(
  input: { clientMutationId?: string | null },
  ctx: { idempotencyKey?: string; limits: InputLimits },
): Idempotency {
  const ttlSeconds = ctx.limits.idempotencyTtlSeconds;
  if (input.clientMutationId != null) return { key: input.clientMutationId, ttlSeconds, field: "clientMutationId" };
  return { key: ctx.idempotencyKey, ttlSeconds, field: "Idempotency-Key" };
}

/**
 * A retried createGenerator/createAgent: the PAK was minted for the first request and only its
 * hash is stored, so it cannot be shown again. The caller learns the id and rotates the key.
 */
export function pakShownOnce(what: "generator" | "agent", id: string, field = "clientMutationId"): BrokkrError {
  const rotate = what === "generator" ? "rotateGeneratorPak" : "rotateAgentPak";
  return new BrokkrError(
    "CONFLICT",
    `${what} ${id} was created by an earlier request with this key; its PAK is shown only once: call ${rotate} for a new one`,
    field,
  );
}
