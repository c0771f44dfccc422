import { createClient as createSocket } from "graphql-ws";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "urql";

// Shared with the explorer: one key per tab, in session storage only (closing the tab forgets it).
export const PAK_KEY = "brokkr.pak";

export interface Session {
  client: Client;
  /** Calls `fn` each time the websocket is back after it was lost; returns the unsubscribe. */
  onReconnect(fn: () => void): () => void;
  dispose(): void;
}

/**
 * The public GraphQL API, as any UI would use it: queries and mutations over HTTP, subscriptions
 * over graphql-ws with the same key, reconnecting for as long as the page is open.
 */
export function openSession(pak: string): Session {
  const authorization = `Bearer ${pak}`;
  const reconnected = new Set<() => void>();
  let connectedBefore = false;
  const socket = createSocket({
    url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`,
    connectionParams: { authorization },
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    on: {
      // Events sent while the socket was away are lost: every live view re-reads its baseline.
      connected: () => {
        if (connectedBefore) for (const fn of [...reconnected]) fn();
        connectedBefore = true;
      },
    },
  });
  const client = new Client({
    url: "/graphql",
    preferGetMethod: false,
    fetchOptions: { headers: { authorization } },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink) }),
        }),
      }),
    ],
  });
  return {
    client,
    onReconnect: (fn) => {
      reconnected.add(fn);
      return () => reconnected.delete(fn);
    },
    dispose: () => void socket.dispose(),
  };
}

export interface Me {
  role: "ADMIN" | "GENERATOR" | "AGENT";
  id: string | null;
  user: { id: string; name: string; role: "ADMIN" | "APPROVER" | "VIEWER" } | null;
}

export const ME = `{ me { role id user { id name role } } }`;
