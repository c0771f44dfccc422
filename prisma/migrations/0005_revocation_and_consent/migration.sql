-- Revocation reaches open websockets (issue 7). A websocket authenticates once, at
-- connection_init; these notifications tell every broker that an identity it may hold sockets
-- for changed (new or cleared PAK hash, deletion, an agent's status), so it re-reads that
-- identity and closes what no longer holds. Ids only; rare writes, far off the insert path.
CREATE FUNCTION brokkr_notify_identity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rec RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    PERFORM pg_notify('brokkr_identities',
        CASE TG_TABLE_NAME WHEN 'agents' THEN 'agent:' ELSE 'generator:' END || rec.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER generators_identity_notify AFTER UPDATE OF pak_hash, deleted_at ON generators
    FOR EACH ROW WHEN (OLD.pak_hash IS DISTINCT FROM NEW.pak_hash OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
    EXECUTE FUNCTION brokkr_notify_identity();
CREATE TRIGGER generators_identity_notify_delete AFTER DELETE ON generators
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_identity();
CREATE TRIGGER agents_identity_notify AFTER UPDATE OF pak_hash, deleted_at, status ON agents
    FOR EACH ROW WHEN (OLD.pak_hash IS DISTINCT FROM NEW.pak_hash OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION brokkr_notify_identity();
CREATE TRIGGER agents_identity_notify_delete AFTER DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_identity();

-- A deleted generator never creates a stack, and a deleted stack never gets an object, however
-- the writes interleave. The inserting transaction share-locks the parent row until it commits;
-- the soft delete (an UPDATE) waits for it and then cascades over the new row too, or, when the
-- delete came first, the lock waits for it and the re-checked row is no longer live. Deletion
-- markers are exempt: the stack's own soft delete inserts them. So are rows inserted already
-- deleted (history copied by `import:brokkr`): they reach no agent.
CREATE FUNCTION brokkr_require_live_generator() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM generators WHERE id = NEW.generator_id AND deleted_at IS NULL FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'generator not found' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER stacks_require_live_generator BEFORE INSERT ON stacks
    FOR EACH ROW EXECUTE FUNCTION brokkr_require_live_generator();

CREATE FUNCTION brokkr_require_live_stack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.is_deletion_marker OR NEW.deleted_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    PERFORM 1 FROM stacks WHERE id = NEW.stack_id AND deleted_at IS NULL FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stack not found' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$;
-- Named to fire before deployment_objects_assign_sequence_id (triggers fire in name order): a
-- wait for the stack lock must not happen while holding the delivery lock, which would stall
-- every horizon read.
CREATE TRIGGER deployment_objects_0_require_live_stack BEFORE INSERT ON deployment_objects
    FOR EACH ROW EXECUTE FUNCTION brokkr_require_live_stack();

-- Consent is withdrawn at once (issue 7): an explicit target that a stack's generator created on
-- the strength of the agent's registration reaches the agent only while that registration
-- exists. Checked in the view, not by deleting targets at deregistration, so a targetStack racing
-- a deregisterAgent cannot leave a live target behind; re-registering restores those targets.
-- Admin-created targets need no registration.
ALTER TABLE agent_targets ADD COLUMN requires_registration BOOLEAN NOT NULL DEFAULT false;

CREATE OR REPLACE VIEW agent_stack_associations AS
    SELECT t.agent_id, t.stack_id FROM agent_targets t
     WHERE NOT t.requires_registration
    UNION
    SELECT t.agent_id, t.stack_id
      FROM agent_targets t
      JOIN stacks s ON s.id = t.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = t.agent_id AND r.generator_id = s.generator_id
     WHERE t.requires_registration
    UNION
    SELECT al.agent_id, sl.stack_id
      FROM agent_labels al
      JOIN stack_labels sl ON sl.label = al.label
      JOIN stacks s ON s.id = sl.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = al.agent_id AND r.generator_id = s.generator_id
    UNION
    SELECT aa.agent_id, sa.stack_id
      FROM agent_annotations aa
      JOIN stack_annotations sa ON sa.key = aa.key AND sa.value = aa.value
      JOIN stacks s ON s.id = sa.stack_id
      JOIN agent_generator_registrations r ON r.agent_id = aa.agent_id AND r.generator_id = s.generator_id;

-- An admin taking over a generator's target flips requires_registration: that changes
-- associations too.
DROP TRIGGER agent_targets_notify ON agent_targets;
CREATE TRIGGER agent_targets_notify AFTER INSERT OR UPDATE OR DELETE ON agent_targets
    FOR EACH ROW EXECUTE FUNCTION brokkr_notify_association();
