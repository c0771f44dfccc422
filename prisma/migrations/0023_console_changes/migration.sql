-- Live work orders and diagnostics for operators (workOrderChanges, diagnosticRequestChanges):
-- a change of a queued order or of a diagnostic request wakes the brokers holding those
-- subscriptions, which read the changed rows once per batch. The outbox (0013, 0017) has no
-- NOTIFY and no index on seq, and tells neither of retries, requeues, deletes nor clean-ups, so
-- these tables say it themselves. Statement triggers over transition tables: one NOTIFY per
-- statement, ids only; past 200 ids (the 8000-byte payload cap) the payload is empty and
-- listeners tell subscribers to re-read. An update that changes no status tells nothing.
CREATE FUNCTION brokkr_notify_row_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids TEXT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id::text) INTO ids FROM new_rows n;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.id::text) INTO ids FROM old_rows o;
    ELSE
        SELECT array_agg(n.id::text) INTO ids
          FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.status IS DISTINCT FROM o.status;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify(TG_ARGV[0], CASE WHEN cardinality(ids) > 200 THEN '' ELSE array_to_string(ids, ',') END);
    RETURN NULL;
END;
$$;

-- A work order is created, claimed, retried, requeued, and leaves the queue (to the log, or deleted).
CREATE TRIGGER work_orders_changes_insert AFTER INSERT ON work_orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_work_order_changes');
CREATE TRIGGER work_orders_changes_update AFTER UPDATE ON work_orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_work_order_changes');
CREATE TRIGGER work_orders_changes_delete AFTER DELETE ON work_orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_work_order_changes');

-- A diagnostic request is made, claimed, completed, and removed by the clean-up.
CREATE TRIGGER diagnostic_requests_changes_insert AFTER INSERT ON diagnostic_requests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_diagnostic_changes');
CREATE TRIGGER diagnostic_requests_changes_update AFTER UPDATE ON diagnostic_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_diagnostic_changes');
CREATE TRIGGER diagnostic_requests_changes_delete AFTER DELETE ON diagnostic_requests
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_notify_row_changes('brokkr_diagnostic_changes');
