-- The outbox (migration 0013) learns of work orders and diagnostics, with the event names
-- src/webhooks/event-types.ts lists. Same shape as 0013: statement triggers over transition
-- tables for inserts, row triggers with a WHEN clause for the one update and delete worth telling,
-- so a claim or a clean-up of rows nobody is told about never enters PL/pgSQL.

-- workorder.created: one event per new order (its targets are rows of other tables).
CREATE FUNCTION brokkr_events_work_orders_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, data)
    SELECT 'workorder.created',
           jsonb_build_object('work_order_id', n.id, 'work_type', n.work_type, 'max_retries', n.max_retries)
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER work_orders_events AFTER INSERT ON work_orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_work_orders_insert();

-- workorder.claimed: the claim's one conditional UPDATE moves a row to CLAIMED.
CREATE FUNCTION brokkr_events_work_orders_claimed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, data)
    VALUES ('workorder.claimed', NEW.claimed_by,
            jsonb_build_object('work_order_id', NEW.id, 'work_type', NEW.work_type,
                               'agent_id', NEW.claimed_by, 'retry_count', NEW.retry_count));
    RETURN NULL;
END;
$$;
CREATE TRIGGER work_orders_events_claimed AFTER UPDATE OF status ON work_orders
    FOR EACH ROW WHEN (NEW.status = 'CLAIMED' AND OLD.status IS DISTINCT FROM 'CLAIMED')
    EXECUTE FUNCTION brokkr_events_work_orders_claimed();

-- workorder.completed / workorder.failed: an order ends by moving to the log (success, or its
-- last retry failed); a retry that is scheduled is not an end and tells nothing.
CREATE FUNCTION brokkr_events_work_order_log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, data)
    SELECT CASE WHEN n.success THEN 'workorder.completed' ELSE 'workorder.failed' END, n.claimed_by,
           jsonb_build_object('work_order_id', n.id, 'work_type', n.work_type, 'agent_id', n.claimed_by,
                              'success', n.success, 'retries_attempted', n.retries_attempted,
                              'result_message', left(n.result_message, 1000))
      FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER work_order_log_events AFTER INSERT ON work_order_log
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_work_order_log_insert();

-- diagnostic.requested, with the object's stack for the subscriptions' stack filter.
CREATE FUNCTION brokkr_events_diagnostic_requests_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, stack_id, data)
    SELECT 'diagnostic.requested', n.agent_id, d.stack_id,
           jsonb_build_object('diagnostic_request_id', n.id, 'agent_id', n.agent_id,
                              'deployment_object_id', n.deployment_object_id, 'stack_id', d.stack_id,
                              'expires_at', n.expires_at)
      FROM new_rows n
      LEFT JOIN deployment_objects d ON d.id = n.deployment_object_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER diagnostic_requests_events AFTER INSERT ON diagnostic_requests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_diagnostic_requests_insert();

-- diagnostic.completed: the agent's result is stored (one per request).
CREATE FUNCTION brokkr_events_diagnostic_results_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, stack_id, data)
    SELECT 'diagnostic.completed', r.agent_id, d.stack_id,
           jsonb_build_object('diagnostic_request_id', r.id, 'agent_id', r.agent_id,
                              'deployment_object_id', r.deployment_object_id, 'stack_id', d.stack_id)
      FROM new_rows n
      JOIN diagnostic_requests r ON r.id = n.request_id
      LEFT JOIN deployment_objects d ON d.id = r.deployment_object_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER diagnostic_results_events AFTER INSERT ON diagnostic_results
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_events_diagnostic_results_insert();

-- diagnostic.expired / diagnostic.failed: a request that never got a result (still pending, or
-- claimed by an agent that sent nothing) is told of when the clean-up removes it past its
-- expiry; until then its expiry is only derived on read, so no write happens to hang it on.
CREATE FUNCTION brokkr_events_diagnostic_requests_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO domain_events (event_type, agent_id, data)
    VALUES (CASE WHEN OLD.status = 'claimed' THEN 'diagnostic.failed' ELSE 'diagnostic.expired' END, OLD.agent_id,
            jsonb_build_object('diagnostic_request_id', OLD.id, 'agent_id', OLD.agent_id,
                               'deployment_object_id', OLD.deployment_object_id, 'expires_at', OLD.expires_at));
    RETURN NULL;
END;
$$;
CREATE TRIGGER diagnostic_requests_events_delete AFTER DELETE ON diagnostic_requests
    FOR EACH ROW WHEN (OLD.status IN ('pending', 'claimed') AND OLD.expires_at <= now())
    EXECUTE FUNCTION brokkr_events_diagnostic_requests_delete();
