-- The audit log: one row per mutation through any API and per authentication failure,
-- written in batches by each broker's in-process writer (src/audit/writer.ts).
--
-- Tamper evidence: each row carries hash = sha256(prev_hash || canonical content), computed by
-- the writer (src/audit/chain.ts), and prev_hash is the hash of the row before it in `seq`
-- order. Several brokers build one chain because each batch first locks the single row of
-- audit_log_chain (FOR UPDATE), reads the head from it, and advances it in the same
-- transaction. The chain row also keeps the base (the first row retention kept, and its
-- prev_hash) so verification starts there and notices rows removed at either end.
--
-- Append-only: triggers refuse UPDATE, TRUNCATE and DELETE, except the retention clean-up's
-- DELETE, which sets the transaction-local brokkr.audit_retention = 'on' and a cutoff at least
-- a day old, and may delete only rows older than that cutoff. A superuser can still disable
-- triggers; the hash chain is what makes such an edit visible (npm run audit:verify).
CREATE TABLE audit_logs (
    id            UUID PRIMARY KEY,
    seq           BIGINT NOT NULL UNIQUE CHECK (seq > 0),
    timestamp     TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    actor_type    TEXT NOT NULL CHECK (length(actor_type) BETWEEN 1 AND 64),
    actor_id      UUID,
    actor_name    TEXT CHECK (length(actor_name) <= 256),
    action        TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 128),
    resource_type TEXT NOT NULL CHECK (length(resource_type) BETWEEN 1 AND 64),
    resource_id   UUID,
    details       JSONB,
    ip_address    TEXT CHECK (length(ip_address) <= 64),
    user_agent    TEXT CHECK (length(user_agent) <= 512),
    prev_hash     TEXT NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash          TEXT NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
-- Lists are newest first by seq (the chain order; timestamps of several brokers may disagree by
-- their clock skew); filters by actor and resource walk these indexes in that order.
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, seq);
CREATE INDEX audit_logs_resource_idx ON audit_logs (resource_id, seq);
CREATE INDEX audit_logs_action_idx ON audit_logs (action text_pattern_ops, seq);
CREATE INDEX audit_logs_timestamp_idx ON audit_logs (timestamp);

CREATE TABLE audit_log_chain (
    singleton      BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    head_seq       BIGINT NOT NULL CHECK (head_seq >= 0),
    head_hash      TEXT NOT NULL CHECK (head_hash ~ '^[0-9a-f]{64}$'),
    base_seq       BIGINT NOT NULL CHECK (base_seq >= 1),
    base_prev_hash TEXT NOT NULL CHECK (base_prev_hash ~ '^[0-9a-f]{64}$')
);
-- The genesis: no rows yet, the first row has seq 1 and chains from 64 zeros.
INSERT INTO audit_log_chain (head_seq, head_hash, base_seq, base_prev_hash)
VALUES (0, repeat('0', 64), 1, repeat('0', 64));

CREATE FUNCTION audit_retention_cutoff() RETURNS TIMESTAMPTZ LANGUAGE plpgsql STABLE AS $$
DECLARE
    cutoff TIMESTAMPTZ;
BEGIN
    IF coalesce(current_setting('brokkr.audit_retention', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    cutoff := nullif(current_setting('brokkr.audit_retention_cutoff', true), '')::timestamptz;
    -- The shortest retention is one day: a session cannot declare "now" its cutoff.
    IF cutoff IS NULL OR cutoff > now() - interval '1 day' THEN
        RETURN NULL;
    END IF;
    RETURN cutoff;
END;
$$;

CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff TIMESTAMPTZ;
BEGIN
    IF TG_OP = 'DELETE' THEN
        cutoff := audit_retention_cutoff();
        IF cutoff IS NOT NULL AND OLD.timestamp < cutoff THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: only the retention clean-up deletes, and only rows older than its cutoff'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();

-- The chain row only moves forward: the head never goes back, and the base moves (forward)
-- only inside the retention clean-up.
CREATE FUNCTION audit_log_chain_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_log_chain: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.head_seq < OLD.head_seq OR (NEW.head_seq = OLD.head_seq AND NEW.head_hash <> OLD.head_hash) THEN
        RAISE EXCEPTION 'audit_log_chain: the head never moves back' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.base_seq, NEW.base_prev_hash) IS DISTINCT FROM (OLD.base_seq, OLD.base_prev_hash)
       AND (audit_retention_cutoff() IS NULL OR NEW.base_seq < OLD.base_seq OR NEW.base_seq > NEW.head_seq + 1) THEN
        RAISE EXCEPTION 'audit_log_chain: only the retention clean-up moves the base, and only forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain_forward_only BEFORE UPDATE OR DELETE ON audit_log_chain
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain_forward_only();
CREATE TRIGGER audit_log_chain_no_truncate BEFORE TRUNCATE ON audit_log_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_chain_forward_only();
