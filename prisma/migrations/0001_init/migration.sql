-- Brokkr-TS initial schema: tables, partial unique indexes among live rows, triggers.
-- Written by hand (triggers are raw SQL); prisma/schema.prisma mirrors the tables.

CREATE TABLE generators (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description    TEXT,
    pak_hash       TEXT,
    last_active_at TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX generators_name_live_key ON generators (name) WHERE deleted_at IS NULL;
CREATE INDEX generators_pak_hash_live_idx ON generators (pak_hash) WHERE deleted_at IS NULL;
CREATE INDEX generators_deleted_at_idx ON generators (deleted_at);

CREATE TABLE stacks (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    generator_id UUID NOT NULL REFERENCES generators (id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description  TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX stacks_name_live_key ON stacks (name) WHERE deleted_at IS NULL;
CREATE INDEX stacks_generator_id_idx ON stacks (generator_id);
CREATE INDEX stacks_deleted_at_idx ON stacks (deleted_at);
CREATE INDEX stacks_created_at_id_idx ON stacks (created_at, id);

CREATE TABLE agents (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    cluster_name       TEXT NOT NULL CHECK (length(cluster_name) BETWEEN 1 AND 255),
    status             TEXT NOT NULL DEFAULT 'INACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
    pak_hash           TEXT,
    last_heartbeat     TIMESTAMPTZ,
    k8s_reachable      BOOLEAN,
    k8s_api_latency_ms INTEGER,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at         TIMESTAMPTZ
);
CREATE UNIQUE INDEX agents_name_cluster_live_key ON agents (name, cluster_name) WHERE deleted_at IS NULL;
CREATE INDEX agents_pak_hash_live_idx ON agents (pak_hash) WHERE deleted_at IS NULL;
CREATE INDEX agents_deleted_at_idx ON agents (deleted_at);
CREATE INDEX agents_created_at_id_idx ON agents (created_at, id);

-- sequence_id is the global order. It is assigned by the BEFORE INSERT trigger below, never
-- by the client, while the inserting transaction holds a shared advisory lock (see there).
CREATE SEQUENCE deployment_objects_sequence_id_seq AS BIGINT;
CREATE TABLE deployment_objects (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    sequence_id        BIGINT NOT NULL,
    stack_id           UUID NOT NULL REFERENCES stacks (id),
    generator_id       UUID NOT NULL REFERENCES generators (id),
    yaml_content       TEXT NOT NULL,
    yaml_checksum      TEXT NOT NULL CHECK (yaml_checksum ~ '^[0-9a-f]{64}$'),
    submitted_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_deletion_marker BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at         TIMESTAMPTZ
);
ALTER SEQUENCE deployment_objects_sequence_id_seq OWNED BY deployment_objects.sequence_id;
CREATE UNIQUE INDEX deployment_objects_sequence_id_key ON deployment_objects (sequence_id);
CREATE INDEX deployment_objects_stack_seq_idx ON deployment_objects (stack_id, sequence_id DESC);
CREATE INDEX deployment_objects_generator_id_idx ON deployment_objects (generator_id);
CREATE INDEX deployment_objects_deleted_at_idx ON deployment_objects (deleted_at);

CREATE TABLE agent_events (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id             UUID NOT NULL REFERENCES agents (id),
    deployment_object_id UUID NOT NULL REFERENCES deployment_objects (id),
    event_type           TEXT NOT NULL DEFAULT 'APPLY' CHECK (length(event_type) BETWEEN 1 AND 64),
    status               TEXT NOT NULL CHECK (status IN ('SUCCESS', 'FAILURE')),
    message              TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at           TIMESTAMPTZ
);
CREATE INDEX agent_events_agent_id_idx ON agent_events (agent_id, created_at);
CREATE INDEX agent_events_deployment_object_id_idx ON agent_events (deployment_object_id);
CREATE INDEX agent_events_deleted_at_idx ON agent_events (deleted_at);

CREATE TABLE agent_targets (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id   UUID NOT NULL REFERENCES agents (id),
    stack_id   UUID NOT NULL REFERENCES stacks (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agent_id, stack_id)
);
CREATE INDEX agent_targets_stack_id_idx ON agent_targets (stack_id);

CREATE TABLE stack_labels (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    stack_id   UUID NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    label      VARCHAR(64) NOT NULL CHECK (length(label) >= 1),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (stack_id, label)
);
CREATE INDEX stack_labels_label_idx ON stack_labels (label);

CREATE TABLE stack_annotations (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    stack_id   UUID NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
    key        VARCHAR(64) NOT NULL CHECK (length(key) >= 1),
    value      VARCHAR(1024) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (stack_id, key)
);
CREATE INDEX stack_annotations_key_value_idx ON stack_annotations (key, value);

CREATE TABLE agent_labels (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id   UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    label      VARCHAR(64) NOT NULL CHECK (length(label) >= 1),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agent_id, label)
);
CREATE INDEX agent_labels_label_idx ON agent_labels (label);

CREATE TABLE agent_annotations (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id   UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    key        VARCHAR(64) NOT NULL CHECK (length(key) >= 1),
    value      VARCHAR(1024) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agent_id, key)
);
CREATE INDEX agent_annotations_key_value_idx ON agent_annotations (key, value);

CREATE TABLE agent_generator_registrations (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    generator_id UUID NOT NULL REFERENCES generators (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agent_id, generator_id)
);
CREATE INDEX agent_generator_registrations_generator_id_idx ON agent_generator_registrations (generator_id);

-- Broker-wide settings, e.g. the admin PAK hash minted on first start.
CREATE TABLE broker_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- updated_at maintenance on every main table.
CREATE FUNCTION brokkr_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER generators_updated_at BEFORE UPDATE ON generators
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();
CREATE TRIGGER stacks_updated_at BEFORE UPDATE ON stacks
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();
CREATE TRIGGER agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();
CREATE TRIGGER deployment_objects_updated_at BEFORE UPDATE ON deployment_objects
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();
CREATE TRIGGER agent_events_updated_at BEFORE UPDATE ON agent_events
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- Commit-order safety for the delivery cursor. sequence_id is taken at insert, so a
-- transaction holding 10 may commit after one holding 11. Every inserter takes this shared
-- advisory lock *before* drawing its sequence_id and keeps it until commit; a reader that
-- briefly takes the same lock exclusively (brokkr_delivery_horizon) thereby waits for every
-- transaction that drew a number, so all ids up to the value it then reads are settled.
CREATE FUNCTION brokkr_assign_sequence_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7301120001);
    NEW.sequence_id := nextval('deployment_objects_sequence_id_seq');
    RETURN NEW;
END;
$$;
CREATE TRIGGER deployment_objects_assign_sequence_id BEFORE INSERT ON deployment_objects
    FOR EACH ROW EXECUTE FUNCTION brokkr_assign_sequence_id();

-- Highest sequence_id below which every transaction has committed or rolled back.
-- While this waits for an open inserting transaction, new inserters queue behind it; the short
-- lock_timeout bounds that stall (the caller retries), so one long transaction cannot hold up
-- every generator.
CREATE FUNCTION brokkr_delivery_horizon() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    horizon BIGINT;
BEGIN
    PERFORM set_config('lock_timeout', '200ms', true);
    PERFORM pg_advisory_xact_lock(7301120001);
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO horizon
      FROM deployment_objects_sequence_id_seq;
    RETURN horizon;
END;
$$;

-- Deployment objects are immutable: only deleted_at may change, and a deletion marker may be
-- updated as a whole.
CREATE FUNCTION brokkr_deployment_object_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.is_deletion_marker THEN
        RETURN NEW;
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.sequence_id IS DISTINCT FROM OLD.sequence_id
       OR NEW.stack_id IS DISTINCT FROM OLD.stack_id
       OR NEW.generator_id IS DISTINCT FROM OLD.generator_id
       OR NEW.yaml_content IS DISTINCT FROM OLD.yaml_content
       OR NEW.yaml_checksum IS DISTINCT FROM OLD.yaml_checksum
       OR NEW.submitted_at IS DISTINCT FROM OLD.submitted_at
       OR NEW.is_deletion_marker IS DISTINCT FROM OLD.is_deletion_marker
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'deployment objects are immutable'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER deployment_objects_immutable BEFORE UPDATE ON deployment_objects
    FOR EACH ROW EXECUTE FUNCTION brokkr_deployment_object_immutable();

-- Soft-deleting a stack soft-deletes its objects and appends one deletion marker, so agents
-- learn to remove its resources (also agents that were offline at the time).
CREATE FUNCTION brokkr_stack_soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deployment_objects SET deleted_at = NEW.deleted_at
     WHERE stack_id = NEW.id AND deleted_at IS NULL;
    INSERT INTO deployment_objects (stack_id, generator_id, yaml_content, yaml_checksum, is_deletion_marker)
    VALUES (NEW.id, NEW.generator_id, '', encode(sha256(''::bytea), 'hex'), true);
    RETURN NEW;
END;
$$;
CREATE TRIGGER stacks_soft_delete AFTER UPDATE OF deleted_at ON stacks
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION brokkr_stack_soft_delete();

CREATE FUNCTION brokkr_stack_hard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM agent_targets WHERE stack_id = OLD.id;
    DELETE FROM agent_events WHERE deployment_object_id IN
        (SELECT id FROM deployment_objects WHERE stack_id = OLD.id);
    DELETE FROM deployment_objects WHERE stack_id = OLD.id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER stacks_hard_delete BEFORE DELETE ON stacks
    FOR EACH ROW EXECUTE FUNCTION brokkr_stack_hard_delete();

CREATE FUNCTION brokkr_generator_soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stacks SET deleted_at = NEW.deleted_at
     WHERE generator_id = NEW.id AND deleted_at IS NULL;
    RETURN NEW;
END;
$$;
CREATE TRIGGER generators_soft_delete AFTER UPDATE OF deleted_at ON generators
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION brokkr_generator_soft_delete();

CREATE FUNCTION brokkr_agent_soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agent_events SET deleted_at = NEW.deleted_at
     WHERE agent_id = NEW.id AND deleted_at IS NULL;
    RETURN NEW;
END;
$$;
CREATE TRIGGER agents_soft_delete AFTER UPDATE OF deleted_at ON agents
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION brokkr_agent_soft_delete();

CREATE FUNCTION brokkr_agent_hard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM agent_targets WHERE agent_id = OLD.id;
    DELETE FROM agent_events WHERE agent_id = OLD.id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER agents_hard_delete BEFORE DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION brokkr_agent_hard_delete();

-- Delivery wake-ups. Notifications carry ids only. New objects wake listeners once per
-- statement with an empty payload; PostgreSQL folds identical notifications of one
-- transaction into one, so a transaction pays the NOTIFY commit lock once, not per row.
-- Listeners then read by cursor.
CREATE FUNCTION brokkr_notify_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_objects', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER deployment_objects_notify AFTER INSERT ON deployment_objects
    FOR EACH STATEMENT EXECUTE FUNCTION brokkr_notify_objects();

-- Association changes (targets, labels, annotations, registrations, agent status, stack and
-- agent deletion) are rare; each names the agent or stack whose associations must be recomputed.
CREATE FUNCTION brokkr_notify_association() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
    payload TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF TG_TABLE_NAME IN ('stack_labels', 'stack_annotations') THEN
        payload := 'stack:' || rec.stack_id;
    ELSIF TG_TABLE_NAME = 'stacks' THEN
        payload := 'stack:' || rec.id;
    ELSIF TG_TABLE_NAME = 'agents' THEN
        payload := 'agent:' || rec.id;
    ELSE
        payload := 'agent:' || rec.agent_id;
    END IF;
    PERFORM pg_notify('brokkr_associations', payload);
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_targets_notify AFTER INSERT OR DELETE ON agent_targets
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER stack_labels_notify AFTER INSERT OR UPDATE OR DELETE ON stack_labels
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER stack_annotations_notify AFTER INSERT OR UPDATE OR DELETE ON stack_annotations
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER agent_labels_notify AFTER INSERT OR UPDATE OR DELETE ON agent_labels
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER agent_annotations_notify AFTER INSERT OR UPDATE OR DELETE ON agent_annotations
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER agent_generator_registrations_notify AFTER INSERT OR DELETE ON agent_generator_registrations
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER agents_notify AFTER UPDATE OF status, deleted_at OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
CREATE TRIGGER stacks_notify AFTER UPDATE OF deleted_at OR DELETE ON stacks
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
