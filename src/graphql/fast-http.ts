import type { IncomingMessage, ServerResponse } from "node:http";
import { execute, type DocumentNode, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { originOf } from "../audit/capture/origin.js";
import type { IdentityResolver } from "../auth/identity.js";
import type { BrokerConfig } from "../config.js";
import type { ErrorFormatter } from "./client-errors.js";
import type { ContextFactory } from "./context.js";
import { checkDocument, DOCUMENT_CACHE_BYTES, DocumentCache } from "./document-cache.js";
import { contextCreationError, faultHead, formatExecutionErrors } from "./format-error.js";
import { fastOperation, type FastRequest } from "./fast-documents.js";
import { oversizeAnswer } from "./response-size.js";

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** Set on a request whose body the fast path read but could not parse: Express answers it. */
export const BODY_ERROR = Symbol("brokkr.bodyError");

/**
 * Request headers the fast path knows to change nothing Apollo or Express would do (beyond what
 * it does itself: CORS, the key, the idempotency key, the audit origin). Any other header, such
 * as Apollo's CSRF, tracing or client-name headers, sends the request the usual way.
 */
const KNOWN_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "content-type",
  "content-length",
  "authorization",
  "accept",
  "accept-encoding",
  "user-agent",
  "idempotency-key",
  "x-forwarded-for",
  "origin",
  // What fetch() and browsers add, read by neither.
  "accept-language",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-dest",
  "referer",
  "priority",
]);
const JSON_TYPES = new Set(["application/json", "application/json; charset=utf-8"]);
const ACCEPTS_JSON = new Set([undefined, "*/*", "application/json"]);

/**
 * POST /graphql without Express and Apollo's request pipeline, for the requests that need
 * neither: a JSON body within the limit, a query text already parsed, validated and within
 * every document limit, variables that coerce, a key that resolves. Under 16 writers of
 * createDeploymentObject, Express and Apollo took about 0.45 ms of the broker's ~1 ms per
 * mutation. Every decision before execution that is not plainly "yes" hands the request to the
 * usual path (Express, then Apollo), which then answers it as before; a request that has run is
 * answered here with Apollo's error formatting, status codes, response cap and headers
 * (fast-http.int.test.ts compares both paths answer for answer). The same schema runs it, so
 * the audit log of mutations is the same too.
 */
export function createFastGraphQL(opts: {
  schema: GraphQLSchema;
  config: BrokerConfig["broker"];
  contexts: ContextFactory;
  identities: IdentityResolver;
  formatError: ErrorFormatter;
  cors: Handler;
  /** Express's ETag function (app.get("etag fn")): Express's res.send sets one on every answer. */
  etag: (body: Buffer) => string;
}) {
  const { config } = opts;
  const documents = new DocumentCache(DOCUMENT_CACHE_BYTES, (query) => checkDocument(opts.schema, config, query));
  let open = true;
  const stats = { served: 0, declined: 0 };

  /** Only what the headers alone decide; the body is read only for these. */
  const takes = (req: IncomingMessage): boolean => {
    if (!open || req.method !== "POST" || req.url !== "/graphql") return false;
    const h = req.headers;
    const length = Number(h["content-length"]);
    if (!(length > 0 && length <= config.bodyLimitBytes) || h["transfer-encoding"] || h["content-encoding"]) return false;
    if (!JSON_TYPES.has(h["content-type"]?.toLowerCase() ?? "") || !ACCEPTS_JSON.has(h.accept)) return false;
    for (const name in h) if (!KNOWN_HEADERS.has(name)) return false;
    return true;
  };

  const run = async (req: IncomingMessage, res: ServerResponse, body: unknown, fallback: () => void) => {
    const request = fastRequest(body);
    const doc = request && documents.get(request.query);
    const operation =
      request && doc && !Array.isArray(doc) ? fastOperation(opts.schema, config, doc as DocumentNode, request) : null;
    if (!request || !operation) return fallback();
    let identity: Awaited<ReturnType<IdentityResolver["resolve"]>>;
    try {
      // No origin: a key that does not resolve is recorded by the usual path, once.
      identity = await opts.identities.resolve(req.headers.authorization);
    } catch (err) {
      // Answered here as Apollo answers a failed context (503 for a database fault): the usual
      // path would only wait for the same fault a second time.
      return respond(req, res, errorAnswer(opts.formatError, contextCreationError(err)));
    }
    if (!identity || !open) return fallback();
    const idempotencyKey = req.headers["idempotency-key"];
    const context = opts.contexts.forIdentity(
      identity,
      typeof idempotencyKey === "string" ? idempotencyKey : undefined,
      originOf(req, "graphql", config.audit.trustForwardedFor),
    );
    stats.served++;
    const result = await execute({
      schema: opts.schema,
      document: operation.document,
      contextValue: context,
      variableValues: request.variables,
      operationName: request.operationName,
    });
    respond(req, res, answer(result, config, opts.formatError));
  };

  const respond = (req: IncomingMessage, res: ServerResponse, a: Answer) => {
    // As the usual path sets them: CORS first (its middleware runs first), then Apollo's, then res.send's.
    opts.cors(req, res, () => {});
    res.statusCode = a.status;
    if (a.executed) res.setHeader("cache-control", "no-store");
    for (const [name, value] of a.headers) res.setHeader(name, value);
    res.setHeader("content-type", "application/json; charset=utf-8");
    const bytes = Buffer.from(a.body, "utf8");
    res.setHeader("Content-Length", bytes.length);
    res.setHeader("ETag", opts.etag(bytes));
    res.end(bytes);
  };

  return {
    stats,
    /** Serves the request, or calls `fallback` (the usual path) with the body already read and parsed. */
    handle(req: IncomingMessage, res: ServerResponse, fallback: () => void): void {
      if (!takes(req)) return fallback();
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("error", () => req.destroy());
      req.on("end", () => {
        const parsed = parseBody(Buffer.concat(chunks));
        const decline = () => {
          stats.declined++;
          Object.assign(req, "error" in parsed ? { [BODY_ERROR]: parsed.error } : { body: parsed.value });
          fallback();
        };
        if ("error" in parsed) return decline();
        run(req, res, parsed.value, decline).catch((err: unknown) => {
          // execute() settles with a result; only a fault of this module lands here.
          if (res.headersSent) return void res.destroy();
          respond(req, res, errorAnswer(opts.formatError, err));
        });
      });
    },
    /** The broker is stopping: requests go the usual way (Apollo answers them as stopped). */
    stop(): void {
      open = false;
    },
  };
}

const utf8 = new TextDecoder("utf-8");

/** body-parser's json(): the BOM dropped, strict (an object or array), else its parse failure. */
function parseBody(raw: Buffer): { value: unknown } | { error: { type: string; status: number } } {
  const text = utf8.decode(raw);
  const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  try {
    if (first !== "{" && first !== "[") throw new SyntaxError("strict");
    return { value: JSON.parse(text) };
  } catch {
    return { error: { type: "entity.parse.failed", status: 400 } };
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The fields Apollo reads from a POST body, when each has the type Apollo accepts; no extensions. */
function fastRequest(body: unknown): FastRequest | null {
  if (!isRecord(body) || typeof body.query !== "string" || body.extensions !== undefined) return null;
  const { operationName, variables } = body;
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") return null;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return null;
  return { query: body.query, operationName: operationName ?? undefined, variables: variables ?? {} };
}

interface Answer {
  /** Apollo's cache-control plugin heads an executed operation's answer with no-store. */
  executed: boolean;
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * What Apollo answers for a result, in its order: errors formatted (status and headers an
 * error's `http` extension asks for), the response cap (limitsPlugin), then 503 with
 * Retry-After for a database fault (faultStatusPlugin).
 */
function answer(result: ExecutionResult, config: BrokerConfig["broker"], format: ErrorFormatter): Answer {
  const formatted = result.errors ? formatExecutionErrors(result.errors, format) : undefined;
  let status = formatted?.head.status ?? 200;
  const headers: [string, string][] = [...(formatted?.head.headers ?? [])];
  let single: { errors?: readonly GraphQLFormattedError[]; data?: unknown; extensions?: unknown } = {
    errors: formatted?.errors,
    data: result.data,
    extensions: result.extensions,
  };
  if (formatted && result.data === undefined && formatted.head.status === undefined) status = 400;
  const oversize = oversizeAnswer(single, config, format);
  if (oversize) [single, status] = [oversize, 400];
  const fault = faultHead(single.errors);
  if (fault) {
    status = fault.status;
    headers.push(...fault.headers);
  }
  return { executed: true, status, headers, body: `${JSON.stringify(single)}\n` };
}

/** Apollo's errorResponse: what it answers when no operation ran (a failed context). */
function errorAnswer(format: ErrorFormatter, err: unknown): Answer {
  const { errors, head } = formatExecutionErrors([err], format);
  return { executed: false, status: head.status ?? 500, headers: head.headers, body: `${JSON.stringify({ errors })}\n` };
}
