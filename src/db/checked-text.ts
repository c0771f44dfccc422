/**
 * A text column that a CHECK constraint limits to `allowed` (Prisma types it as a plain string),
 * as the union the constraint allows. Any other value means schema and code disagree: a fault.
 */
export function checkedText<const T extends string>(allowed: readonly T[], value: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined)
    throw new Error(`a CHECK-constrained column holds ${JSON.stringify(value)}, not one of ${allowed.join(", ")}`);
  return found;
}
