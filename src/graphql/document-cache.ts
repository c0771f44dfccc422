import type { DocumentNode, GraphQLError } from "graphql";

export type Checked = DocumentNode | readonly GraphQLError[];

/** Array.isArray does not narrow a readonly array out of a union; this does. */
export function isDocument(checked: Checked): checked is DocumentNode {
  return !Array.isArray(checked);
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
