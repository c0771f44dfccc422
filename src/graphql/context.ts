import type { Identity } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { Loaders } from "./loaders.js";
import type { DeliveryHub } from "../delivery/hub.js";

export interface GraphQLContext {
  identity: Identity | null;
  db: Database;
  loaders: Loaders;
  delivery: DeliveryHub;
  limits: import("../validation.js").InputLimits;
  /** The HTTP request's Idempotency-Key header (GraphQL inputs may carry clientMutationId instead). */
  idempotencyKey?: string;
  /** Set on websocket operations. */
  connection?: {
    close(code: number, reason: string): void;
    /** The socket's unsent bytes exceed the configured cap: the client is not reading. */
    backedUp(): boolean;
  };
}
