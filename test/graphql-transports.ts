import { createClient } from "graphql-ws";
import WebSocket from "ws";
import type { TestBroker } from "./broker.js";
import { expectNoLeaks } from "./leaks.js";

export interface Answer {
  status?: number;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** One operation over HTTP POST, leak-checked. */
export async function overHttp(
  broker: TestBroker,
  query: string,
  variables: Record<string, unknown> = {},
  pak: string | null = broker.adminPak,
): Promise<Answer> {
  const res = await fetch(`${broker.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(pak ? { authorization: `Bearer ${pak}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  expectNoLeaks(text);
  return { status: res.status, ...(JSON.parse(text) as Answer) };
}

/** One operation over graphql-ws: its first result, or its errors. */
export async function overWs(
  broker: TestBroker,
  query: string,
  variables: Record<string, unknown> = {},
  pak: string | null = broker.adminPak,
): Promise<Answer> {
  const client = createClient({
    url: broker.url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: pak ? { authorization: `Bearer ${pak}` } : {},
    retryAttempts: 0,
  });
  try {
    return await new Promise<Answer>((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: (r) => resolve(r as Answer),
          error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(e)),
          complete: () => {},
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

export const transports = [
  ["HTTP", overHttp],
  ["websocket", overWs],
] as const;

export const codeOf = (a: Answer) => a.errors?.[0]?.extensions?.code;
