import { z } from "zod";
import { badInput } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const LIMITS = {
  name: 255,
  description: 4096,
  label: 64,
  annotationKey: 64,
  annotationValue: 1024,
  eventMessage: 16_384,
} as const;

/** A trimmed, non-empty string of at most `max` characters, or BAD_USER_INPUT naming the field. */
export function requireText(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw badInput(field, `${field} must not be empty`);
  if (trimmed.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  return trimmed;
}

export function optionalText(field: string, value: string | null | undefined, max: number): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (value.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  return value;
}

// Labels and annotation keys travel into Kubernetes label selectors and filters: keep them tame.
const LABEL_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9_.\-/]*[A-Za-z0-9])?$/;

export function requireLabel(field: string, value: string): string {
  const label = requireText(field, value, LIMITS.label);
  if (!LABEL_PATTERN.test(label)) {
    throw badInput(field, `${field} may hold letters, digits, '-', '_', '.', '/' and must start and end with a letter or digit`);
  }
  return label;
}

export function requireAnnotation(field: string, key: string, value: string): { key: string; value: string } {
  const k = requireLabel(`${field}.key`, key);
  if (value.length > LIMITS.annotationValue) {
    throw badInput(`${field}.value`, `${field}.value must be at most ${LIMITS.annotationValue} characters`);
  }
  return { key: k, value };
}

export function requireId(field: string, value: string): string {
  if (!UUID.test(value)) throw badInput(field, `${field} is not a valid id`);
  return value.toLowerCase();
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export const sequenceIdSchema = z
  .string()
  .regex(/^\d{1,19}$/, "must be a non-negative integer")
  .transform((v) => BigInt(v));
