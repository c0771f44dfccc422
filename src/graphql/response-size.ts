import type { GraphQLError, GraphQLFormattedError } from "graphql";
import type { ErrorFormatter } from "./client-errors.js";
import { limitError } from "./limits.js";

/**
 * About how many bytes `value` takes as JSON, counting only up to `cap` so the walk stops early.
 * Aliases of one field share a single string in memory but each is written out in full: 60
 * aliases of a 4 MB object were a 240 MB response from a 4 MB result.
 */
export function jsonBytesOver(value: unknown, cap: number): boolean {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") bytes += v.length + 2;
    else if (Array.isArray(v)) {
      bytes += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (v && typeof v === "object") {
      for (const [key, item] of Object.entries(v)) {
        bytes += key.length + 4;
        stack.push(item);
      }
    } else bytes += 8;
    if (bytes > cap) return true;
  }
  return false;
}

export function responseTooLarge(maxResponseBytes: number): GraphQLError {
  return limitError("RESPONSE_TOO_LARGE", `the response would exceed ${maxResponseBytes} bytes; ask for fewer or smaller fields`);
}

/** An HTTP result over the response cap is answered with this instead (status 400). */
export function oversizeAnswer(
  result: unknown,
  limits: { maxResponseBytes: number },
  format: ErrorFormatter,
): { errors: GraphQLFormattedError[] } | undefined {
  if (!jsonBytesOver(result, limits.maxResponseBytes)) return undefined;
  const error = responseTooLarge(limits.maxResponseBytes);
  return { errors: [format(error.toJSON(), error)] };
}
