-- On-demand diagnostics (Brokkr's diagnostic_requests / diagnostic_results): an admin asks one
-- agent to collect pod statuses, events and log tails for a deployment object's resources.
-- A request lives until expires_at (retention 1-1440 minutes, checked by the service and here);
-- the clean-up task deletes what has expired, its result with it (ON DELETE CASCADE), in one
-- DELETE ... WHERE expires_at < now(), which is safe when several brokers run it at once.
CREATE TABLE diagnostic_requests (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id             UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    deployment_object_id UUID NOT NULL REFERENCES deployment_objects (id) ON DELETE CASCADE,
    -- Stored states; 'expired' (pending past expires_at) and 'failed' (claimed, no result by
    -- expires_at: the agent died) are also derived on read until the clean-up removes the row.
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'claimed', 'completed', 'failed', 'expired')),
    requested_by         TEXT CHECK (length(requested_by) <= 255),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_at           TIMESTAMPTZ,
    completed_at         TIMESTAMPTZ,
    expires_at           TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at AND expires_at <= created_at + interval '1440 minutes')
);
-- An agent's pending requests (get_pending_diagnostics, the subscription's replay).
CREATE INDEX diagnostic_requests_pending_idx ON diagnostic_requests (agent_id, created_at) WHERE status = 'pending';
-- The clean-up's range scan.
CREATE INDEX diagnostic_requests_expires_at_idx ON diagnostic_requests (expires_at);
CREATE INDEX diagnostic_requests_deployment_object_id_idx ON diagnostic_requests (deployment_object_id);

-- At most one result per request (UNIQUE): a second submission is a unique violation even if two
-- race past the status check. Sizes are capped by the service; these checks are the backstop.
CREATE TABLE diagnostic_results (
    id           UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id   UUID NOT NULL UNIQUE REFERENCES diagnostic_requests (id) ON DELETE CASCADE,
    pod_statuses TEXT NOT NULL CHECK (octet_length(pod_statuses) <= 1048576),
    events       TEXT NOT NULL CHECK (octet_length(events) <= 1048576),
    log_tails    TEXT CHECK (octet_length(log_tails) <= 1048576),
    collected_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Wakes the agent's agentDiagnosticRequests subscription on whichever broker holds it. Payload
-- "agentId:requestId" (ids only). One notification per row is fine here: requests are made by
-- admins, a few at a time, far off the generators' write path.
CREATE FUNCTION brokkr_notify_diagnostic_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_diagnostics', NEW.agent_id || ':' || NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER diagnostic_requests_notify AFTER INSERT ON diagnostic_requests
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_diagnostic_request();
