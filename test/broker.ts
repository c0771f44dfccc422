import { afterAll } from "vitest";
import { createApp, type BrokerApp } from "../src/app.js";
import { mintPak } from "../src/auth/pak.js";
import { configFrom } from "../src/config.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

export interface GraphQLResult<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
  status: number;
}

export interface TestBroker {
  url: string;
  adminPak: string;
  db: TestDatabase;
  app: BrokerApp;
  /** POST /graphql as the given PAK (none when null). */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    pak?: string | null,
  ): Promise<GraphQLResult<T>>;
  stop(): Promise<void>;
}

/** A real broker on port 0 over this file's own database; stopped after the file. */
export async function startTestBroker(
  env: Record<string, string | undefined> = {},
  existingDb?: TestDatabase,
): Promise<TestBroker> {
  const db = existingDb ?? (await createTestDatabase());
  const admin = mintPak();
  const config = configFrom({
    BROKKR__BROKER__PORT: "0",
    BROKKR__BROKER__HOST: "127.0.0.1",
    BROKKR__BROKER__PAK_HASH: admin.hash,
    BROKKR__DATABASE__URL: db.url,
    BROKKR__LOG__LEVEL: "silent",
    ...env,
  });
  const app = createApp(config, db.url);
  const { url } = await app.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await app.stop();
  };
  afterAll(stop);
  return {
    url,
    adminPak: admin.pak,
    db,
    app,
    stop,
    async gql(query, variables = {}, pak = admin.pak) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(pak ? { authorization: `Bearer ${pak}` } : {}) },
        body: JSON.stringify({ query, variables }),
        // The broker bounds every request; a hung one fails the test with a clear error.
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await res.json()) as GraphQLResult;
      return { ...body, status: res.status } as never;
    },
  };
}

/** The data of a successful result; throws with the errors otherwise. */
export function ok<T>(result: GraphQLResult<T>): T {
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

export function errorCode(result: GraphQLResult): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}
