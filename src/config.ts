import { z } from "zod";
import type { InputLimits } from "./validation.js";

const boolish = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** Every BROKKR__ variable the broker reads; `__` nests. */
const envSchema = z.object({
  BROKKR__DATABASE__URL: z.string().url().optional(),
  BROKKR__DATABASE__POOL_SIZE: z.coerce.number().int().min(1).max(500).default(10),
  BROKKR__DATABASE__EMBEDDED_DIR: z.string().min(1).default(".brokkr/pgdata"),
  BROKKR__DATABASE__EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  BROKKR__DATABASE__MIGRATE: boolish.default(true),
  BROKKR__DATABASE__STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  BROKKR__DATABASE__CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  BROKKR__BROKER__HOST: z.string().min(1).default("0.0.0.0"),
  BROKKR__BROKER__PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BROKKR__BROKER__PAK_HASH: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the 64-character SHA-256 hex printed by `npm run generate-pak`")
    .optional(),
  BROKKR__BROKER__BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(10_000).default(50),
  BROKKR__BROKER__MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(100).default(10),
  BROKKR__BROKER__MAX_QUERY_COST: z.coerce.number().int().min(10).default(200_000),
  BROKKR__BROKER__MAX_DOCUMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  BROKKR__BROKER__MAX_TOKENS: z.coerce.number().int().min(100).default(1000),
  BROKKR__BROKER__MAX_FRAGMENT_SPREADS: z.coerce.number().int().min(0).default(20),
  BROKKR__BROKER__MAX_SELECTIONS: z.coerce.number().int().min(10).default(2000),
  BROKKR__BROKER__MAX_ALIASES: z.coerce.number().int().min(0).default(20),
  BROKKR__BROKER__MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  BROKKR__BROKER__MAX_MUTATIONS_PER_REQUEST: z.coerce.number().int().min(1).default(10),
  BROKKR__BROKER__MAX_RESPONSE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS: z.coerce.number().int().min(1).default(1000),
  BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY: z.coerce.number().int().min(1).default(200),
  BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  BROKKR__BROKER__MAX_AGENT_WS_PER_AGENT: z.coerce.number().int().min(1).max(100).default(1),
  BROKKR__BROKER__SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(5000),
  BROKKR__BROKER__INTROSPECTION: boolish.default(true),
  BROKKR__BROKER__MAX_YAML_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  BROKKR__BROKER__MAX_YAML_DOCUMENTS: z.coerce.number().int().min(1).max(100_000).default(1000),
  BROKKR__BROKER__MAX_HEALTH_ENTRIES: z.coerce.number().int().min(1).max(100_000).default(1000),
  BROKKR__BROKER__IDEMPOTENCY_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(86_400),
  // ---- audit log ----
  BROKKR__BROKER__AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  BROKKR__BROKER__AUDIT_QUEUE_CAPACITY: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  BROKKR__BROKER__AUDIT_TRUST_FORWARDED_FOR: boolish.default(false),
  BROKKR__CORS__ALLOWED_ORIGINS: z.string().default("*"),
  BROKKR__LOG__LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type BrokerConfig = Readonly<{
  database: {
    url?: string;
    poolSize: number;
    embeddedDir: string;
    embeddedPort: number;
    migrate: boolean;
    statementTimeoutMs: number;
    connectTimeoutMs: number;
  };
  broker: {
    host: string;
    port: number;
    adminPakHash?: string;
    bodyLimitBytes: number;
    maxSubscriberBufferBytes: number;
    maxSubscriptionsPerConnection: number;
    maxQueryDepth: number;
    maxQueryCost: number;
    maxDocumentBytes: number;
    maxTokens: number;
    maxFragmentSpreads: number;
    maxSelections: number;
    maxAliases: number;
    maxDirectives: number;
    maxMutationsPerRequest: number;
    maxResponseBytes: number;
    maxUnauthenticatedSockets: number;
    maxSubscriptionsPerIdentity: number;
    /** Brokkr's agent websocket (src/brokkr-ws): largest frame, sockets per agent per broker. */
    agentWs: { maxFrameBytes: number; maxSocketsPerAgent: number };
    shutdownTimeoutMs: number;
    introspection: boolean;
    input: InputLimits;
    /** The audit log (src/audit): retention, the writer's queue, whose address to record. */
    audit: { retentionDays: number; queueCapacity: number; trustForwardedFor: boolean };
  };
  cors: { allowedOrigins: string[] };
  log: { level: string };
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join("\n")}`);
  }
}

/** Parses the environment; throws ConfigError listing one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    database: {
      url: e.BROKKR__DATABASE__URL,
      poolSize: e.BROKKR__DATABASE__POOL_SIZE,
      embeddedDir: e.BROKKR__DATABASE__EMBEDDED_DIR,
      embeddedPort: e.BROKKR__DATABASE__EMBEDDED_PORT,
      migrate: e.BROKKR__DATABASE__MIGRATE,
      statementTimeoutMs: e.BROKKR__DATABASE__STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.BROKKR__DATABASE__CONNECT_TIMEOUT_MS,
    },
    broker: {
      host: e.BROKKR__BROKER__HOST,
      port: e.BROKKR__BROKER__PORT,
      adminPakHash: e.BROKKR__BROKER__PAK_HASH,
      bodyLimitBytes: e.BROKKR__BROKER__BODY_LIMIT_BYTES,
      maxSubscriberBufferBytes: e.BROKKR__BROKER__MAX_SUBSCRIBER_BUFFER_BYTES,
      maxSubscriptionsPerConnection: e.BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxQueryDepth: e.BROKKR__BROKER__MAX_QUERY_DEPTH,
      maxQueryCost: e.BROKKR__BROKER__MAX_QUERY_COST,
      maxDocumentBytes: e.BROKKR__BROKER__MAX_DOCUMENT_BYTES,
      maxTokens: e.BROKKR__BROKER__MAX_TOKENS,
      maxFragmentSpreads: e.BROKKR__BROKER__MAX_FRAGMENT_SPREADS,
      maxSelections: e.BROKKR__BROKER__MAX_SELECTIONS,
      maxAliases: e.BROKKR__BROKER__MAX_ALIASES,
      maxDirectives: e.BROKKR__BROKER__MAX_DIRECTIVES,
      maxMutationsPerRequest: e.BROKKR__BROKER__MAX_MUTATIONS_PER_REQUEST,
      maxResponseBytes: e.BROKKR__BROKER__MAX_RESPONSE_BYTES,
      maxUnauthenticatedSockets: e.BROKKR__BROKER__MAX_UNAUTHENTICATED_SOCKETS,
      maxSubscriptionsPerIdentity: e.BROKKR__BROKER__MAX_SUBSCRIPTIONS_PER_IDENTITY,
      agentWs: {
        maxFrameBytes: e.BROKKR__BROKER__MAX_AGENT_WS_FRAME_BYTES,
        maxSocketsPerAgent: e.BROKKR__BROKER__MAX_AGENT_WS_PER_AGENT,
      },
      shutdownTimeoutMs: e.BROKKR__BROKER__SHUTDOWN_TIMEOUT_MS,
      introspection: e.BROKKR__BROKER__INTROSPECTION,
      input: {
        maxYamlBytes: e.BROKKR__BROKER__MAX_YAML_BYTES,
        maxYamlDocuments: e.BROKKR__BROKER__MAX_YAML_DOCUMENTS,
        maxHealthEntries: e.BROKKR__BROKER__MAX_HEALTH_ENTRIES,
        idempotencyTtlSeconds: e.BROKKR__BROKER__IDEMPOTENCY_TTL_SECONDS,
      },
      audit: {
        retentionDays: e.BROKKR__BROKER__AUDIT_RETENTION_DAYS,
        queueCapacity: e.BROKKR__BROKER__AUDIT_QUEUE_CAPACITY,
        trustForwardedFor: e.BROKKR__BROKER__AUDIT_TRUST_FORWARDED_FOR,
      },
    },
    cors: {
      allowedOrigins: e.BROKKR__CORS__ALLOWED_ORIGINS.split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    },
    log: { level: e.BROKKR__LOG__LEVEL },
  });
}

/** A config for tests and embedding: defaults plus overrides, without reading process.env. */
export function configFrom(overrides: Record<string, string | undefined>): BrokerConfig {
  return loadConfig(overrides);
}
