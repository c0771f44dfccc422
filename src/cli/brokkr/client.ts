import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { CliError, type Session } from "./session.js";

type GraphQLError = { message: string; extensions?: { code?: string } };

/** The broker's public GraphQL API, as any client would use it. */
export class BrokerClient {
  constructor(private readonly session: Session) {}

  async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.session.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.session.pak}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new CliError(`cannot reach the broker at ${this.session.url}: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: GraphQLError[] };
    if (body.errors?.length) {
      const [first] = body.errors;
      throw new CliError(`${first?.extensions?.code ?? "ERROR"}: ${first?.message}`, 1, first?.extensions?.code);
    }
    if (!body.data) throw new CliError(`the broker answered HTTP ${res.status} without data`);
    return body.data;
  }

  /** Every node of a connection field, page by page. */
  async all<N>(query: string, field: string, variables: Record<string, unknown> = {}): Promise<N[]> {
    const nodes: N[] = [];
    let after: string | null = null;
    for (;;) {
      type Page = Record<string, { edges: { node: N }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>;
      const page: Page = await this.query<Page>(query, { ...variables, after });
      const connection = page[field];
      if (!connection) return nodes;
      nodes.push(...connection.edges.map((e) => e.node));
      if (!connection.pageInfo.hasNextPage) return nodes;
      after = connection.pageInfo.endCursor;
    }
  }

  /**
   * A graphql-ws subscription; `onData` returning true ends it. `connected` resolves once the
   * broker accepted the connection (the subscribe message goes out right after).
   */
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    onData: (data: T) => boolean | void,
  ): { done: Promise<void>; connected: Promise<void>; stop(): void } {
    const client = createClient({
      url: `${this.session.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.session.pak}` },
      retryAttempts: 5,
    });
    const connected = new Promise<void>((resolve) => client.on("connected", () => resolve()));
    let stop = () => {};
    const done = new Promise<void>((resolve, reject) => {
      const unsubscribe = client.subscribe<T>(
        { query, variables },
        {
          next: (result) => {
            if (result.errors?.length) return reject(new CliError(`subscription refused: ${result.errors[0]?.message}`));
            if (result.data && onData(result.data as T) === true) stop();
          },
          error: (err) => reject(new CliError(`subscription failed: ${(err as Error).message ?? String(err)}`)),
          complete: () => resolve(),
        },
      );
      stop = () => {
        unsubscribe();
        void client.dispose();
        resolve();
      };
    });
    return { done, connected, stop: () => stop() };
  }
}
