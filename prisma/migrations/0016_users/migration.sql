-- People: a fourth kind of identity beside the admin, generator and agent keys. A user holds a
-- PAK of the same shape (only the SHA-256 of its long token is stored, looked up by a partial
-- index over live rows, as for generators and agents) and one role: ADMIN acts as the admin,
-- VIEWER reads what the admin reads and changes nothing, APPROVER (release orchestration, later)
-- reads like a viewer for now. Names are unique among live users.
CREATE TABLE users (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('ADMIN', 'APPROVER', 'VIEWER')),
    pak_hash   TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX users_name_live_key ON users (name) WHERE deleted_at IS NULL;
CREATE INDEX users_pak_hash_live_idx ON users (pak_hash) WHERE deleted_at IS NULL;
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- Rotating or deleting a user's key (or changing its role) closes its websockets on every
-- broker, through the channel generators and agents already use (migration 0005): 'user:<id>'.
CREATE FUNCTION brokkr_notify_user_identity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    PERFORM pg_notify('brokkr_identities', 'user:' || rec.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_identity_notify AFTER UPDATE OF pak_hash, deleted_at, role ON users
    FOR EACH ROW WHEN (OLD.pak_hash IS DISTINCT FROM NEW.pak_hash OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION brokkr_notify_user_identity();
CREATE TRIGGER users_identity_notify_delete AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_user_identity();

-- The live fleet (subscription fleetChanges, websocket /api/v1/fleet/live) must hear what any
-- broker, or plain SQL, changed: 'connection:<agent id>' when an agent's websocket opens or
-- closes on some broker (agent_connections, written only on the 0 -> 1 and 1 -> 0 transitions),
-- 'health:<agent id>' once per agent per health report. Ids only; each broker coalesces them and
-- reads the changed agents' status once per batch. Heartbeats are NOT notified: a NOTIFY takes
-- PostgreSQL's global commit lock, and measured here 8 writers fell from 2,486 to 736 heartbeats/s
-- (and 1,371 to 339 in a second round) with a per-heartbeat trigger; the brokers read recent
-- heartbeats by polling instead (src/fleet/feed.ts).
CREATE FUNCTION brokkr_notify_fleet_connection() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    PERFORM pg_notify('brokkr_fleet', 'connection:' || rec.agent_id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_connections_fleet_notify AFTER INSERT OR UPDATE OR DELETE ON agent_connections
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_fleet_connection();

-- A health report writes many rows in one statement: one notification per agent, not per row.
-- Transition tables allow one event per trigger, and an upsert fires both, hence two triggers.
CREATE FUNCTION brokkr_notify_fleet_health() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_fleet', 'health:' || agent_id) FROM (SELECT DISTINCT agent_id FROM changed) s;
    RETURN NULL;
END;
$$;
CREATE TRIGGER deployment_health_fleet_insert_notify AFTER INSERT ON deployment_health
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION brokkr_notify_fleet_health();
CREATE TRIGGER deployment_health_fleet_update_notify AFTER UPDATE ON deployment_health
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION brokkr_notify_fleet_health();
