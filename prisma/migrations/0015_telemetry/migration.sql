-- Cluster telemetry from agents (reference/brokkr.md §1.4 tailers, §2.4 frames): Kubernetes
-- events, pod log lines, and gaps (lines dropped on the way, so a reader knows history has a
-- hole). A short buffer for people debugging a rollout, not a log store: the broker's
-- telemetry-retention task deletes rows older than BROKKR__BROKER__TELEMETRY_RETENTION_HOURS
-- (at most 6, Brokkr's ceiling), so every table is read by (stack_id, created_at) and purged by
-- created_at.
--
-- seq orders rows as they were inserted (a batch's lines keep their order; uuids do not), and is
-- the tie-break of the (created_at, seq) keyset cursor. batch_id names the agent's batch: the
-- one pg_notify per batch carries it, and the live tail loads that batch's rows by it.
-- Rows go with their stack or agent on hard delete (ON DELETE CASCADE); soft-deleted stacks'
-- rows simply age out.

CREATE TABLE telemetry_events (
    seq             BIGSERIAL PRIMARY KEY,
    id              UUID NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    batch_id        UUID NOT NULL,
    agent_id        UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    stack_id        UUID NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    observed_at     TIMESTAMPTZ NOT NULL,
    reason          TEXT NOT NULL,
    message         TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    source          TEXT,
    involved_object JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX telemetry_events_stack_idx ON telemetry_events (stack_id, created_at, seq);
CREATE INDEX telemetry_events_created_idx ON telemetry_events (created_at);
CREATE INDEX telemetry_events_batch_idx ON telemetry_events (batch_id);
CREATE INDEX telemetry_events_agent_idx ON telemetry_events (agent_id);

CREATE TABLE telemetry_logs (
    seq        BIGSERIAL PRIMARY KEY,
    id         UUID NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    batch_id   UUID NOT NULL,
    agent_id   UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    stack_id   UUID NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    pod        TEXT NOT NULL,
    container  TEXT NOT NULL,
    ts         TIMESTAMPTZ NOT NULL,
    line       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX telemetry_logs_stack_idx ON telemetry_logs (stack_id, created_at, seq);
CREATE INDEX telemetry_logs_created_idx ON telemetry_logs (created_at);
CREATE INDEX telemetry_logs_batch_idx ON telemetry_logs (batch_id);
CREATE INDEX telemetry_logs_agent_idx ON telemetry_logs (agent_id);

CREATE TABLE telemetry_gaps (
    seq           BIGSERIAL PRIMARY KEY,
    id            UUID NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    batch_id      UUID NOT NULL,
    agent_id      UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    stack_id      UUID NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    since_ts      TIMESTAMPTZ NOT NULL,
    dropped_count INTEGER NOT NULL CHECK (dropped_count >= 0),
    -- Brokkr's wire values (log_gap.reason).
    reason        TEXT NOT NULL CHECK (reason IN ('rate_limit', 'buffer_full', 'disconnected')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX telemetry_gaps_stack_idx ON telemetry_gaps (stack_id, created_at, seq);
CREATE INDEX telemetry_gaps_created_idx ON telemetry_gaps (created_at);
CREATE INDEX telemetry_gaps_batch_idx ON telemetry_gaps (batch_id);
CREATE INDEX telemetry_gaps_agent_idx ON telemetry_gaps (agent_id);
