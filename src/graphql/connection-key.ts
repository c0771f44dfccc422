/**
 * The PAK a graphql-ws client sent in `connection_init`: `{ authorization }` (ours, Brokkr's
 * habit), `{ Authorization }`, or `{ headers: { Authorization } }` (Apollo Client's and urql's
 * habit of reusing their HTTP headers object).
 */
export function connectionKey(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const direct = params.authorization ?? params.Authorization;
  if (typeof direct === "string") return direct;
  const headers = params.headers;
  if (headers === null || typeof headers !== "object") return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "authorization" && typeof value === "string") return value;
  }
  return undefined;
}

/** Close reasons (at most 123 bytes) that say which key the broker expected. */
export const MISSING_KEY_REASON = "Unauthorized: send connectionParams { authorization: 'Bearer brokkr_BR…' } with a PAK";
export const UNKNOWN_KEY_REASON = "Unauthorized: the PAK is malformed, unknown or revoked";
