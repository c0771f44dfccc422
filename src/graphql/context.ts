import type { RequestOrigin } from "../audit/capture/origin.js";
import type { Identity, IdentityResolver } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { InputLimits } from "../validation.js";
import type { Loaders } from "./loaders.js";
import { createLoaders } from "./loaders.js";
import { contextCreationError } from "./format-error.js";
import type { DeliveryHub } from "../delivery/hub.js";
import type { LiveConfig } from "../live-config/live-config.js";
import type { DiagnosticFeed } from "../diagnostics/feed.js";
import type { Telemetry } from "../telemetry/wiring.js";
import type { WorkOrderFeed } from "../work-orders/feed.js";
import type { Webhooks } from "../webhooks/runtime.js";
import type { EvidenceKeys } from "../evidence/signing.js";
import type { PromotionFeed } from "../promotions/feed.js";

export interface GraphQLContext {
  identity: Identity | null;
  db: Database;
  loaders: Loaders;
  delivery: DeliveryHub;
  /** Push of claimable work orders (agentWorkOrders). */
  workOrders: WorkOrderFeed;
  limits: InputLimits;
  liveConfig: LiveConfig;
  /** New diagnostic requests, pushed to agents (agentDiagnosticRequests). */
  diagnostics: DiagnosticFeed;
  webhooks: Webhooks;
  /** The evidence signing key (src/evidence). */
  evidence: EvidenceKeys;
  /** promotionProgress streams (src/promotions). */
  promotions: PromotionFeed;
  /** The HTTP request's Idempotency-Key header (GraphQL inputs may carry clientMutationId instead). */
  idempotencyKey?: string;
  /** Set on websocket operations. */
  connection?: SocketConnection;
  /** Cluster telemetry: its bounds and the live feed (src/telemetry). */
  telemetry: Telemetry;
  /** The client (transport, address, user agent), for the audit log. */
  origin?: RequestOrigin;
}

export interface SocketConnection {
  close(code: number, reason: string): void;
  /** The socket's unsent bytes exceed the configured cap: the client is not reading. */
  backedUp(): boolean;
}

/** The one place a GraphQLContext is built, for HTTP requests and websocket operations alike. */
export function createContextFactory(deps: {
  db: Database;
  delivery: DeliveryHub;
  workOrders: WorkOrderFeed;
  identities: IdentityResolver;
  limits: InputLimits;
  liveConfig: LiveConfig;
  diagnostics: DiagnosticFeed;
  telemetry: Telemetry;
  webhooks: Webhooks;
  evidence: EvidenceKeys;
  promotions: PromotionFeed;
}) {
  const build = (identity: Identity | null, cacheLoaders: boolean, extra: Partial<GraphQLContext> = {}): GraphQLContext => ({
    identity,
    db: deps.db,
    // A websocket operation's context lives as long as its subscription: its loaders don't cache.
    loaders: createLoaders(deps.db, cacheLoaders),
    delivery: deps.delivery,
    workOrders: deps.workOrders,
    limits: deps.limits,
    liveConfig: deps.liveConfig,
    diagnostics: deps.diagnostics,
    telemetry: deps.telemetry,
    webhooks: deps.webhooks,
    evidence: deps.evidence,
    promotions: deps.promotions,
    ...extra,
  });
  const forIdentity = (identity: Identity | null, idempotencyKey?: string, origin?: RequestOrigin): GraphQLContext =>
    build(identity, true, { ...(idempotencyKey ? { idempotencyKey } : {}), origin });
  return {
    /** An HTTP request's context once its key has been resolved (the fast path, fast-http.ts). */
    forIdentity,
    async forRequest(
      authorization: string | undefined,
      idempotencyKey?: string,
      origin?: RequestOrigin,
    ): Promise<GraphQLContext> {
      let identity: Identity | null;
      try {
        identity = await deps.identities.resolve(authorization, origin);
      } catch (err) {
        // A database fault while looking the key up is the server's (503), never the caller's.
        throw contextCreationError(err);
      }
      return forIdentity(identity, idempotencyKey, origin);
    },
    forSocket(identity: Identity | null, connection: SocketConnection, origin?: RequestOrigin): GraphQLContext {
      return build(identity, false, { connection, origin });
    },
  };
}

export type ContextFactory = ReturnType<typeof createContextFactory>;
