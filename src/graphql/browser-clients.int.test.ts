import { createClient } from "graphql-ws";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestBroker } from "../../test/broker.js";
import { MISSING_KEY_REASON, UNKNOWN_KEY_REASON } from "./connection-key.js";

const broker = await startTestBroker();
const wsUrl = `${broker.url.replace(/^http/, "ws")}/graphql`;

/** Subscribes to `me` once with these connection params; resolves with the data or the close. */
function meOverSocket(
  connectionParams: Record<string, unknown>,
): Promise<{ data?: unknown; closed?: { code: number; reason: string } }> {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  return new Promise((resolve) => {
    client.subscribe(
      { query: "{ me { role } }" },
      {
        next: (result) => resolve({ data: result.data }),
        error: (err) => {
          const close = err as { code?: number; reason?: string };
          resolve({ closed: { code: close.code ?? 0, reason: close.reason ?? "" } });
        },
        complete: () => {},
      },
    );
  }).finally(() => client.dispose()) as Promise<{ data?: unknown; closed?: { code: number; reason: string } }>;
}

describe("GraphQL clients of browsers and UI frameworks", () => {
  it("answers a GET query that carries the PAK (urql's default), CSRF protection on", async () => {
    const res = await fetch(`${broker.url}/graphql?query=${encodeURIComponent("{ me { role } }")}`, {
      headers: { accept: "application/graphql-response+json, application/json", authorization: `Bearer ${broker.adminPak}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { me: { role: "ADMIN" } } });
  });

  it("still refuses a GET a cross-site page could send without a preflight", async () => {
    const res = await fetch(`${broker.url}/graphql?query=${encodeURIComponent("{ me { role } }")}`, {
      headers: { accept: "application/json" },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/);
  });

  it("accepts the PAK in connectionParams.headers.Authorization (Apollo Client's habit)", async () => {
    expect(await meOverSocket({ headers: { Authorization: `Bearer ${broker.adminPak}` } })).toEqual({
      data: { me: { role: "ADMIN" } },
    });
  });

  it("closes a socket without a key with 4401 saying which key it expected", async () => {
    expect(await meOverSocket({})).toEqual({ closed: { code: 4401, reason: MISSING_KEY_REASON } });
    expect(MISSING_KEY_REASON).toMatch(/connectionParams.*authorization.*PAK/);
  });

  it("closes a socket with a wrong key with 4401 saying the key was not accepted", async () => {
    expect(await meOverSocket({ authorization: "Bearer brokkr_BRabcdef_nothing" })).toEqual({
      closed: { code: 4401, reason: UNKNOWN_KEY_REASON },
    });
  });
});
