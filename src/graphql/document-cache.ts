import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from "graphql";
import type { BrokerConfig } from "../config.js";
import { documentLimitErrors, parseWithinLimits } from "./limits.js";

export type Checked = DocumentNode | readonly GraphQLError[];

/** Array.isArray does not narrow a readonly array out of a union; this does. */
export function isDocument(checked: Checked): checked is DocumentNode {
  return !Array.isArray(checked);
}

/**
 * What a query text alone decides, in the order the HTTP path checks it (the early limits,
 * standard validation, refusing introspection when it is off, then the document limits, so a
 * limit walker never sees a cyclic or unknown fragment). The websocket path answers with these
 * errors; the HTTP fast path (fast-http.ts) only takes a document that passes, and leaves the
 * wording of a refusal to Apollo.
 */
export function checkDocument(schema: GraphQLSchema, config: BrokerConfig["broker"], query: string): Checked {
  const rules = config.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const document = parseWithinLimits(query, config);
  if (!isDocument(document)) return document;
  const errors = validate(schema, document, rules);
  if (errors.length > 0)
    return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
  const limited = documentLimitErrors(document, config);
  return limited.length > 0 ? limited : document;
}

/**
 * Parsed-and-checked documents by query text, bounded by the bytes of the texts it keeps: 10,000
 * agents send the same subscription, but a client must not fill memory with distinct ones.
 */
export class DocumentCache {
  private readonly entries = new Map<string, Checked>();
  private bytes = 0;
  constructor(
    private readonly maxBytes: number,
    private readonly build: (query: string) => Checked,
  ) {}

  get(query: string): Checked {
    const cached = this.entries.get(query);
    if (cached) return cached;
    const entry = this.build(query);
    if (query.length > this.maxBytes) return entry;
    for (const oldest of this.entries.keys()) {
      if (this.bytes + query.length <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= oldest.length;
    }
    this.entries.set(query, entry);
    this.bytes += query.length;
    return entry;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

/**
 * Query text (UTF-16 units) the websocket document cache keeps: hundreds of distinct operations
 * or 16 of the largest allowed documents. A parsed document takes about ten times its text.
 */
export const DOCUMENT_CACHE_BYTES = 1024 * 1024;
