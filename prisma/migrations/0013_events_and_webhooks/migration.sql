-- Domain events (a transactional outbox) and signed webhooks.
--
-- Every change worth telling is written to domain_events by an AFTER trigger on the changed
-- table, so the event commits or rolls back with the change itself: no event is lost when the
-- broker dies after a commit, and none is invented for a change that rolled back (Brokkr emits
-- after the write, outside the transaction: reference §5.5 item 14). Triggers cover every writer
-- (GraphQL, REST, plain SQL, batched inserts) without the domains' code calling anything.
--
-- Cost on the write path: inserts use statement-level triggers over transition tables, so a
-- batched INSERT of n rows pays one trigger call and one INSERT … SELECT, not n. Updates and
-- deletes use row triggers with a WHEN clause and a column list, which PostgreSQL evaluates
-- without entering PL/pgSQL, so the frequent updates (heartbeats, last_active_at) pay nothing.
-- No trigger here calls NOTIFY: the delivery task reads the outbox on its interval.
--
-- Work orders and diagnostics publish their events (workorder.*, diagnostic.*) through the same
-- table; their triggers are added with those tables.

CREATE TABLE domain_events (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    seq           BIGINT GENERATED ALWAYS AS IDENTITY,
    event_type    TEXT NOT NULL CHECK (length(event_type) BETWEEN 1 AND 64),
    -- Copied out of data for the subscriptions' filters (agent_id, stack_id).
    agent_id      UUID,
    stack_id      UUID,
    data          JSONB NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set once the event has been fanned out into webhook_deliveries.
    dispatched_at TIMESTAMPTZ
);
-- The fan-out reads undispatched events in seq order; this index holds only those.
CREATE INDEX domain_events_undispatched_idx ON domain_events (seq) WHERE dispatched_at IS NULL;
-- For the retention clean-up. Nothing else is indexed: each index is paid on every insert.
CREATE INDEX domain_events_occurred_at_idx ON domain_events (occurred_at);

-- Inserts: one function per table, over the statement's new rows.
CREATE FUNCTION brokkr_events_deployment_objects_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, stack_id, data)
    SELECT CASE WHEN n.is_deletion_marker THEN 'deployment.deleted' ELSE 'deployment.created' END,
           n.stack_id,
           jsonb_build_object('deployment_object_id', n.id, 'stack_id', n.stack_id,
                              'generator_id', n.generator_id, 'sequence_id', n.sequence_id,
                              'yaml_checksum', n.yaml_checksum, 'is_deletion_marker', n.is_deletion_marker)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER deployment_objects_events AFTER INSERT ON deployment_objects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_deployment_objects_insert();

-- An agent's report on an object: deployment.applied (SUCCESS) or deployment.failed (FAILURE).
-- The stack comes from the object (a primary-key lookup per row).
CREATE FUNCTION brokkr_events_agent_events_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, stack_id, data)
    SELECT CASE WHEN n.status = 'SUCCESS' THEN 'deployment.applied' ELSE 'deployment.failed' END,
           n.agent_id, d.stack_id,
           jsonb_build_object('agent_event_id', n.id, 'agent_id', n.agent_id,
                              'deployment_object_id', n.deployment_object_id, 'stack_id', d.stack_id,
                              'event_type', n.event_type, 'status', n.status, 'message', n.message)
      FROM new_rows n
      LEFT JOIN deployment_objects d ON d.id = n.deployment_object_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_events_events AFTER INSERT ON agent_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_agent_events_insert();

CREATE FUNCTION brokkr_events_agents_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, data)
    SELECT 'agent.registered', n.id,
           jsonb_build_object('agent_id', n.id, 'name', n.name, 'cluster_name', n.cluster_name, 'status', n.status)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agents_events AFTER INSERT ON agents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_agents_insert();

CREATE FUNCTION brokkr_events_stacks_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, stack_id, data)
    SELECT 'stack.created', n.id,
           jsonb_build_object('stack_id', n.id, 'name', n.name, 'generator_id', n.generator_id)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER stacks_events AFTER INSERT ON stacks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_stacks_insert();

CREATE FUNCTION brokkr_events_generators_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, data)
    SELECT 'generator.created', jsonb_build_object('generator_id', n.id, 'name', n.name)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER generators_events AFTER INSERT ON generators
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_generators_insert();

CREATE FUNCTION brokkr_events_agent_targets_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, stack_id, data)
    SELECT 'stack.targeted', n.agent_id, n.stack_id,
           jsonb_build_object('agent_id', n.agent_id, 'stack_id', n.stack_id)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_targets_events AFTER INSERT ON agent_targets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_agent_targets_insert();

CREATE FUNCTION brokkr_events_agent_targets_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, stack_id, data)
    SELECT 'stack.untargeted', o.agent_id, o.stack_id,
           jsonb_build_object('agent_id', o.agent_id, 'stack_id', o.stack_id)
      FROM old_rows o;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_targets_events_delete AFTER DELETE ON agent_targets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_agent_targets_delete();

-- Updates and deletes of main tables: rare, row by row, filtered by WHEN before PL/pgSQL runs.
-- Deleting means soft delete (deleted_at set), or a hard delete of a row that was still live,
-- so soft-then-hard deletion tells once.
CREATE FUNCTION brokkr_events_agents_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec agents%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF TG_OP = 'DELETE' OR (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL) THEN
        INSERT INTO domain_events (event_type, agent_id, data)
        VALUES ('agent.deregistered', rec.id,
                jsonb_build_object('agent_id', rec.id, 'name', rec.name, 'cluster_name', rec.cluster_name));
    ELSIF OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO domain_events (event_type, agent_id, data)
        VALUES ('agent.status_changed', rec.id,
                jsonb_build_object('agent_id', rec.id, 'status', NEW.status, 'previous_status', OLD.status));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agents_events_update AFTER UPDATE OF status, deleted_at ON agents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL))
    EXECUTE FUNCTION brokkr_events_agents_change();
CREATE TRIGGER agents_events_delete AFTER DELETE ON agents
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION brokkr_events_agents_change();

CREATE FUNCTION brokkr_events_stacks_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec stacks%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF TG_OP = 'DELETE' OR (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL) THEN
        INSERT INTO domain_events (event_type, stack_id, data)
        VALUES ('stack.deleted', rec.id,
                jsonb_build_object('stack_id', rec.id, 'name', rec.name, 'generator_id', rec.generator_id,
                                   'hard', TG_OP = 'DELETE'));
    ELSE
        INSERT INTO domain_events (event_type, stack_id, data)
        VALUES ('stack.updated', rec.id,
                jsonb_build_object('stack_id', rec.id, 'name', rec.name, 'description', rec.description,
                                   'generator_id', rec.generator_id));
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER stacks_events_update AFTER UPDATE OF name, description, deleted_at ON stacks
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND (NEW.deleted_at IS NOT NULL
        OR OLD.name IS DISTINCT FROM NEW.name OR OLD.description IS DISTINCT FROM NEW.description))
    EXECUTE FUNCTION brokkr_events_stacks_change();
CREATE TRIGGER stacks_events_delete AFTER DELETE ON stacks
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION brokkr_events_stacks_change();

CREATE FUNCTION brokkr_events_generators_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec generators%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    INSERT INTO domain_events (event_type, data)
    VALUES ('generator.deleted', jsonb_build_object('generator_id', rec.id, 'name', rec.name));
    RETURN NULL;
END;
$$;
CREATE TRIGGER generators_events_update AFTER UPDATE OF deleted_at ON generators
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION brokkr_events_generators_delete();
CREATE TRIGGER generators_events_delete AFTER DELETE ON generators
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION brokkr_events_generators_delete();

-- A subscription's event-type patterns: '*', an exact type, or a prefix wildcard 'deployment.*'.
CREATE FUNCTION brokkr_event_type_matches(patterns TEXT[], event_type TEXT) RETURNS BOOLEAN
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(patterns) AS p
         WHERE p = '*' OR p = event_type OR (right(p, 2) = '.*' AND starts_with(event_type, left(p, -1))))
$$;

-- Webhook subscriptions. The id is chosen by the broker before encrypting, because the
-- ciphertexts are bound to it (AES-GCM additional data "<id>:url" …): a ciphertext copied into
-- another row or column does not decrypt. url, auth header and signing secret are stored only
-- as 'v1:<key id>:<iv>:<tag>:<ciphertext>' (src/webhooks/crypto.ts).
CREATE TABLE webhook_subscriptions (
    id                    UUID PRIMARY KEY,
    -- Paging order (creation order without a timestamp's ties or precision loss in cursors).
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    url_encrypted         TEXT NOT NULL CHECK (url_encrypted LIKE 'v1:%'),
    auth_header_encrypted TEXT CHECK (auth_header_encrypted LIKE 'v1:%'),
    secret_encrypted      TEXT NOT NULL CHECK (secret_encrypted LIKE 'v1:%'),
    event_types           TEXT[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 50),
    filter_agent_id       UUID,
    filter_stack_id       UUID,
    -- NULL or empty: the broker delivers; else an agent carrying all these labels does.
    target_labels         TEXT[] CHECK (cardinality(target_labels) <= 50),
    enabled               BOOLEAN NOT NULL DEFAULT true,
    max_retries           INTEGER NOT NULL DEFAULT 5 CHECK (max_retries BETWEEN 1 AND 20),
    timeout_seconds       INTEGER NOT NULL DEFAULT 30 CHECK (timeout_seconds BETWEEN 1 AND 300),
    created_by            TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER webhook_subscriptions_updated_at BEFORE UPDATE ON webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- One row per (subscription, event). Status pending → acquired → success, or → failed (a retry
-- is due at due_at) → … → dead after max_retries attempts or a non-retryable answer.
-- due_at is when a pending or failed delivery may be claimed, and when an acquired claim
-- expires (a broker or agent that died mid-attempt): one column, so one partial index serves
-- the claim. attempts is incremented by the claim itself, so each claim is one numbered attempt
-- and a result is recorded only by the holder of that attempt number (a fencing token).
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Paging order, newest first.
    seq              BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    subscription_id  UUID NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id         UUID NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    target_labels    TEXT[],
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'acquired', 'success', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    acquired_by      UUID,
    last_attempt_at  TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error       TEXT,
    completed_at     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (due_at)
    WHERE status IN ('pending', 'acquired', 'failed');
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, seq);
CREATE INDEX webhook_deliveries_completed_idx ON webhook_deliveries (completed_at)
    WHERE status IN ('success', 'dead');

-- Every attempt, as made: the primary key makes a second record of one attempt impossible.
CREATE TABLE webhook_delivery_attempts (
    delivery_id  UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    -- 'broker', or the id of the agent that made it.
    delivered_by TEXT NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER,
    success      BOOLEAN NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (delivery_id, attempt)
);

-- Live outcomes for consoles (subscription webhookDeliveries), on every broker: attempts are
-- few (bounded by the delivery batch), so one NOTIFY per attempt is affordable here.
CREATE FUNCTION brokkr_notify_webhook_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_webhook_deliveries', NEW.delivery_id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_delivery_attempts_notify AFTER INSERT ON webhook_delivery_attempts
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_webhook_attempt();
