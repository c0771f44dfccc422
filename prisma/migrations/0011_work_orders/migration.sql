-- Work orders (Brokkr's one-shot jobs, reference §1.8): an active queue, its targeting, and the
-- log of finished orders. Tables and columns as Brokkr's migrations 08, 09 and 12, so Brokkr's
-- agents and SDKs read the same shapes; the differences are said where they are.

CREATE TABLE work_orders (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    work_type             VARCHAR(50) NOT NULL CHECK (length(work_type) >= 1),
    yaml_content          TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'CLAIMED', 'RETRY_PENDING')),
    -- SET NULL: a claim whose agent is hard-deleted is requeued by the claim timeout.
    claimed_by            UUID REFERENCES agents (id) ON DELETE SET NULL,
    claimed_at            TIMESTAMPTZ,
    -- Upper bounds are ours (Brokkr has none): they keep backoff · 2^retries and the stale-claim
    -- arithmetic inside timestamp range.
    claim_timeout_seconds INTEGER NOT NULL DEFAULT 3600 CHECK (claim_timeout_seconds BETWEEN 1 AND 604800),
    max_retries           INTEGER NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 100),
    retry_count           INTEGER NOT NULL DEFAULT 0,
    backoff_seconds       INTEGER NOT NULL DEFAULT 60 CHECK (backoff_seconds BETWEEN 1 AND 86400),
    next_retry_after      TIMESTAMPTZ,
    last_error            TEXT,
    last_error_at         TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT work_orders_retry_count_check CHECK (retry_count BETWEEN 0 AND max_retries),
    -- Brokkr also requires claimed_by here, which makes hard-deleting a claiming agent fail.
    CONSTRAINT work_orders_claimed_check CHECK (status <> 'CLAIMED' OR claimed_at IS NOT NULL),
    CONSTRAINT work_orders_retry_pending_check CHECK (status <> 'RETRY_PENDING' OR next_retry_after IS NOT NULL)
);
-- The queue's three scans: pending ones in creation order, stale claims, retries that are due.
CREATE INDEX work_orders_pending_idx ON work_orders (created_at, id) WHERE status = 'PENDING';
CREATE INDEX work_orders_stale_claims_idx ON work_orders (claimed_at) WHERE status = 'CLAIMED';
CREATE INDEX work_orders_retry_idx ON work_orders (next_retry_after) WHERE status = 'RETRY_PENDING';
CREATE INDEX work_orders_claimed_by_idx ON work_orders (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX work_orders_created_at_id_idx ON work_orders (created_at, id);
CREATE TRIGGER work_orders_updated_at BEFORE UPDATE ON work_orders
    FOR EACH ROW EXECUTE FUNCTION brokkr_set_updated_at();

-- Targeting: an agent may claim an order that names it, shares a label with it, or shares an
-- annotation key *and* value with it (an OR across the three, as Brokkr).
CREATE TABLE work_order_targets (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_id UUID NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    agent_id      UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (work_order_id, agent_id)
);
CREATE INDEX work_order_targets_agent_id_idx ON work_order_targets (agent_id);

CREATE TABLE work_order_labels (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_id UUID NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    label         VARCHAR(64) NOT NULL CHECK (length(label) >= 1),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (work_order_id, label)
);
CREATE INDEX work_order_labels_label_idx ON work_order_labels (label);

-- Values as long as agent annotation values (1024), so every agent annotation can be targeted.
CREATE TABLE work_order_annotations (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    work_order_id UUID NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    key           VARCHAR(64) NOT NULL CHECK (length(key) >= 1),
    value         VARCHAR(1024) NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (work_order_id, key, value)
);
CREATE INDEX work_order_annotations_key_value_idx ON work_order_annotations (key, value);

-- The one definition of "targeted at": the ids of the orders naming the agent, sharing a label
-- with it, or sharing an annotation key and value with it. The pending list, the claim, push and
-- the fleet counts all read it (a single SQL query, so the planner inlines it).
CREATE FUNCTION brokkr_work_orders_targeting(agent UUID) RETURNS TABLE (work_order_id UUID)
LANGUAGE sql STABLE AS $$
    SELECT t.work_order_id FROM work_order_targets t WHERE t.agent_id = agent
    UNION
    SELECT l.work_order_id FROM work_order_labels l JOIN agent_labels al ON al.label = l.label WHERE al.agent_id = agent
    UNION
    SELECT n.work_order_id FROM work_order_annotations n
      JOIN agent_annotations aa ON aa.key = n.key AND aa.value = n.value WHERE aa.agent_id = agent
$$;

-- Finished orders, under the order's own id; written once, in the transaction that deletes the
-- order from the queue.
CREATE TABLE work_order_log (
    id                UUID PRIMARY KEY,
    work_type         VARCHAR(50) NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    claimed_at        TIMESTAMPTZ,
    completed_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by        UUID REFERENCES agents (id) ON DELETE SET NULL,
    success           BOOLEAN NOT NULL,
    retries_attempted INTEGER NOT NULL DEFAULT 0 CHECK (retries_attempted >= 0),
    result_message    TEXT,
    yaml_content      TEXT NOT NULL
);
CREATE INDEX work_order_log_completed_idx ON work_order_log (completed_at DESC, id DESC);
CREATE INDEX work_order_log_claimed_by_idx ON work_order_log (claimed_by) WHERE claimed_by IS NOT NULL;

-- Push: an order that becomes claimable (created, retry due, claim requeued) wakes the brokers
-- holding agentWorkOrders subscriptions. One NOTIFY per statement, not per row (NOTIFY takes a
-- global lock at commit), carrying ids only, each prefixed by why: C created, R retry due,
-- Q requeued. Past 200 ids (8000-byte payload cap) the payload is empty: listeners re-read
-- every subscribed agent's pending orders instead.
CREATE FUNCTION brokkr_notify_work_orders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg('C' || n.id) INTO ids FROM new_rows n WHERE n.status = 'PENDING';
    ELSE
        SELECT array_agg(CASE WHEN o.status = 'RETRY_PENDING' THEN 'R' ELSE 'Q' END || n.id) INTO ids
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status = 'PENDING' AND o.status <> 'PENDING';
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('brokkr_work_orders', CASE WHEN cardinality(ids) > 200 THEN '' ELSE array_to_string(ids, ',') END);
    RETURN NULL;
END;
$$;
CREATE TRIGGER work_orders_notify_insert AFTER INSERT ON work_orders
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brokkr_notify_work_orders();
CREATE TRIGGER work_orders_notify_update AFTER UPDATE ON work_orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION brokkr_notify_work_orders();
