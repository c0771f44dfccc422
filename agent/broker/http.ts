import type { Logger } from "pino";
import { z } from "zod";
import type { TypedDocumentString } from "../generated/operations.ts";
import { jitteredDelay, sleep } from "./backoff.ts";
import { type HttpRequestInit, httpRequest } from "./http-request.ts";
import type { DeploymentHealthEntry } from "./types.ts";

export class BrokerHttpError extends Error {
  override name = "BrokerHttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface BrokerHttp {
  baseUrl: string;
  pak: string;
}

/** The broker's error body; a field of another type (or a body that is no object) is ignored. */
const ErrorBody = z
  .object({ code: z.string().optional().catch(undefined), message: z.string().optional().catch(undefined) })
  .catch({});

/** A JSON request to the broker with the PAK; non-2xx answers become BrokerHttpError. */
export async function brokerRequest<T>(http: BrokerHttp, path: string, init: HttpRequestInit = {}): Promise<T | undefined> {
  const res = await httpRequest(`${http.baseUrl}${path}`, {
    ...init,
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      authorization: `Bearer ${http.pak}`,
      ...init.headers,
    },
  });
  const text = await res.text();
  const body: unknown = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const err = ErrorBody.parse(body);
    throw new BrokerHttpError(
      res.status,
      `broker answered ${res.status}: ${err.message ?? (text.slice(0, 200) || res.statusText)}`,
      err.code,
    );
  }
  // The caller names the shape of the broker's answer (its OpenAPI or GraphQL contract); not re-validated here.
  return body as T | undefined;
}

/** One generated operation over POST /graphql; its result and variables are typed by the document. */
export async function graphqlRequest<TResult, TVariables>(
  http: BrokerHttp,
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
): Promise<TResult> {
  const result = await brokerRequest<{ data?: TResult; errors?: Array<{ message: string; extensions?: { code?: string } }> }>(
    http,
    "/graphql",
    {
      method: "POST",
      body: JSON.stringify({ query: document.toString(), variables }),
    },
  );
  const error = result?.errors?.[0];
  if (error) throw new BrokerHttpError(200, `GraphQL error: ${error.message}`, error.extensions?.code);
  if (!result?.data) throw new BrokerHttpError(200, "GraphQL answer without data");
  return result.data;
}

/** Brokkr's v1 `PATCH /agents/{id}/health-status`: the broker keeps the latest per object. */
export async function sendHealthStatus(http: BrokerHttp, agentId: string, entries: DeploymentHealthEntry[]): Promise<void> {
  await brokerRequest(http, `/api/v1/agents/${encodeURIComponent(agentId)}/health-status`, {
    method: "PATCH",
    body: JSON.stringify({ deployment_objects: entries }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Waits, with jittered backoff, until the broker's /readyz answers 200. */
export async function waitForBrokerReady(baseUrl: string, logger: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const res = await httpRequest(`${baseUrl}/readyz`, { signal });
      await res.text();
      if (res.ok) return;
      logger.info({ status: res.status, attempt }, "broker not ready yet");
    } catch (err) {
      if (!signal.aborted) logger.info({ err: String(err), attempt }, "broker not reachable yet");
    }
    await sleep(jitteredDelay(attempt, 500, 30_000), signal);
  }
}
