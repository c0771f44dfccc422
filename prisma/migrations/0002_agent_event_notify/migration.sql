-- Live agent events for UIs (agentEventsAdded). One notification per event row: events are
-- written by agents, one per applied object, far off the generators' write path.
CREATE FUNCTION brokkr_notify_agent_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_agent_events', NEW.agent_id || ':' || NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER agent_events_notify AFTER INSERT ON agent_events
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_agent_event();

-- Deployment health reported by agents (REST PATCH /agents/{id}/health-status): the latest
-- status per agent and deployment object.
CREATE TABLE deployment_health (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id             UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    deployment_object_id UUID NOT NULL REFERENCES deployment_objects (id) ON DELETE CASCADE,
    status               TEXT NOT NULL CHECK (length(status) BETWEEN 1 AND 64),
    summary              TEXT,
    checked_at           TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (agent_id, deployment_object_id)
);
CREATE INDEX deployment_health_deployment_object_id_idx ON deployment_health (deployment_object_id);
CREATE TRIGGER deployment_health_updated_at BEFORE UPDATE ON deployment_health
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();
