-- A new agent joins the live fleet at once (fleetChanges, /api/v1/fleet/live, the console), before
-- anyone activates it: an agent nobody activated must not sit unseen until a page reload. Agents
-- are created rarely (by an admin), so one NOTIFY per new row costs nothing that matters; the
-- payload is the id only, as on every channel.
CREATE FUNCTION brokkr_fleet_agent_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('brokkr_fleet', 'agent:' || n.id) FROM new_rows n;
    RETURN NULL;
END;
$$;
CREATE TRIGGER agents_fleet_created AFTER INSERT ON agents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION brokkr_fleet_agent_created();
