import type { Identity } from "../auth/identity.js";
import type { Database } from "../db/client.js";
import type { Loaders } from "./loaders.js";

export interface GraphQLContext {
  identity: Identity | null;
  db: Database;
  loaders: Loaders;
}
