import { createClient } from "graphql-ws";
import type { Logger } from "pino";
import WebSocket from "ws";
import { jitteredDelay, sleep } from "../broker/backoff.ts";
import { type BrokerHttp, BrokerHttpError, brokerRequest, graphqlRequest } from "../broker/http.ts";
import {
  AgentDiagnosticRequestsDocument,
  type AgentDiagnosticRequestsSubscription,
  ClaimDiagnosticRequestDocument,
  type DiagnosticRequestFieldsFragment,
  SubmitDiagnosticResultDocument,
} from "../generated/operations.ts";
import type { CollectedDiagnostics } from "./collect.ts";

export type DiagnosticRequest = DiagnosticRequestFieldsFragment;

/** Another claim won, the request expired, or a result is already in: nothing left to do. */
const isConflict = (err: unknown) => err instanceof BrokerHttpError && (err.code === "CONFLICT" || err.status === 409);

/**
 * The broker's side of diagnostics for the agent: push (graphql-ws subscription), poll (Brokkr's
 * REST get_pending_diagnostics, which also works where websockets are blocked), claim and submit
 * (GraphQL over HTTP).
 */
export class DiagnosticsBroker {
  constructor(
    private readonly http: BrokerHttp,
    private readonly logger: Logger,
  ) {}

  /** Ids of the agent's pending requests (GET /api/v1/agents/{id}/diagnostics/pending). */
  async pending(agentId: string): Promise<string[]> {
    const rows = await brokerRequest<{ id: string }[]>(
      this.http,
      `/api/v1/agents/${encodeURIComponent(agentId)}/diagnostics/pending`,
    );
    return (rows ?? []).map((r) => r.id);
  }

  /** The claimed request, or null when it is no longer this agent's to claim. */
  async claim(id: string): Promise<DiagnosticRequest | null> {
    try {
      const data = await graphqlRequest(this.http, ClaimDiagnosticRequestDocument, { input: { id } });
      return data.claimDiagnosticRequest.diagnosticRequest;
    } catch (err) {
      if (isConflict(err)) return null;
      throw err;
    }
  }

  async submit(id: string, result: CollectedDiagnostics): Promise<void> {
    try {
      await graphqlRequest(this.http, SubmitDiagnosticResultDocument, { input: { requestId: id, ...result } });
    } catch (err) {
      if (!isConflict(err)) throw err;
      this.logger.warn({ requestId: id }, "diagnostic result refused: the request expired or was answered");
    }
  }

  /**
   * Holds the subscription until `signal` aborts, reconnecting with jittered backoff; calls
   * `onConnected` on every (re)connect (the caller polls then, for what was missed while away).
   */
  async listen(onRequest: (id: string) => void, onConnected: () => void, signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; failures++) {
      const reason = await this.session(onRequest, onConnected, signal);
      if (signal.aborted) return;
      this.logger.debug({ reason, failures }, "diagnostics subscription ended");
      await sleep(jitteredDelay(failures, 500, 30_000), signal);
    }
  }

  private session(onRequest: (id: string) => void, onConnected: () => void, signal: AbortSignal): Promise<string> {
    const client = createClient({
      url: `${this.http.baseUrl.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.http.pak}` },
      retryAttempts: 0,
      keepAlive: 10_000,
      on: { connected: () => onConnected() },
    });
    return new Promise<string>((resolve) => {
      const finish = (reason: string) => {
        signal.removeEventListener("abort", abort);
        void client.dispose();
        resolve(reason);
      };
      const abort = () => finish("stopped");
      signal.addEventListener("abort", abort, { once: true });
      client.subscribe<AgentDiagnosticRequestsSubscription>(
        { query: AgentDiagnosticRequestsDocument.toString() },
        {
          next: (r) => (r.data ? onRequest(r.data.agentDiagnosticRequests.id) : finish("subscription error")),
          error: (err) => finish(err instanceof Error ? err.message : "socket closed"),
          complete: () => finish("completed"),
        },
      );
    });
  }
}
