-- NOTIFY takes a global lock at commit: with one per inserting transaction, inserts here fell
-- from ~4,900/s to ~2,400/s. A broker that inserts through its API sets
-- brokkr.notify_deferred for the statement, wakes its own fan-out directly, and sends one
-- NOTIFY per batch (a few ms) for the other brokers. Any other writer (plain SQL) still
-- notifies here.
CREATE OR REPLACE FUNCTION brokkr_notify_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('brokkr.notify_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('brokkr_objects', '');
    RETURN NULL;
END;
$$;
