import semver from "semver";
import { badInput } from "../errors.js";
import { LIMITS, requireText } from "../validation.js";

const NAME = /^[a-z0-9]([a-z0-9._-]{0,126}[a-z0-9])?$/;
const CHANNEL = /^[a-z0-9-]{1,32}$/;
// OCI image tags (distribution spec): a word character first, then up to 127 of [\w.-].
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
// An image repository without tag or digest: [host[:port]/]path, lowercase path components.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST = "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?/)";
const REPOSITORY = new RegExp(`^${HOST}?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);

export function requireComponentName(value: string): string {
  if (!NAME.test(value))
    throw badInput(
      "name",
      "name must be 1-128 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
    );
  return value;
}

export function requireChannel(field: string, value: string): string {
  if (!CHANNEL.test(value)) throw badInput(field, `${field} must be 1-32 lowercase letters, digits or '-'`);
  return value;
}

export function requireRepository(value: string): string {
  const repo = requireText("imageRepository", value, LIMITS.name);
  if (!REPOSITORY.test(repo))
    throw badInput(
      "imageRepository",
      "imageRepository must be an image repository such as registry.example.com/team/app (no tag or digest)",
    );
  return repo;
}

export function requireTag(field: string, value: string): string {
  if (!TAG.test(value))
    throw badInput(
      field,
      `${field} must be an image tag: up to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'`,
    );
  return value;
}

export function requireDigest(field: string, value: string): string {
  if (!DIGEST.test(value)) throw badInput(field, `${field} must be sha256: followed by 64 lowercase hex digits`);
  return value;
}

/** Semantic Versioning 2.0.0 exactly: no leading 'v' or '=', no whitespace (the semver package allows those). */
export function requireSemver(field: string, value: string): string {
  if (value.length > 255 || !/^[0-9]/.test(value) || value.trim() !== value || semver.parse(value) === null)
    throw badInput(field, `${field} must be a Semantic Versioning 2.0.0 version such as 1.4.0 or 2.0.0-rc.1+build.5`);
  return value;
}
