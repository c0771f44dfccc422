-- Which broker holds which agent's websocket, so that any broker answers the fleet query.
-- Each broker process registers itself in broker_instances and refreshes seen_at every 15 s;
-- a broker not seen for 45 s is gone (crashed), and its connection rows no longer count.
-- agent_connections holds, per agent, one row per broker it has connected to: connected_at
-- when its first agentDeployments subscription opened there, disconnected_at when the last
-- closed. A connect deletes the agent's closed rows on other brokers, so the table holds at
-- most (agents x live brokers) rows plus one closed row per agent; dead brokers' instance rows
-- are purged after an hour, their connection rows with them.
CREATE TABLE broker_instances (
    id         UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE agent_connections (
    agent_id        UUID NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    broker_id       UUID NOT NULL REFERENCES broker_instances (id) ON DELETE CASCADE,
    transport       TEXT NOT NULL CHECK (transport IN ('WEBSOCKET')),
    connected_at    TIMESTAMPTZ NOT NULL,
    disconnected_at TIMESTAMPTZ,
    PRIMARY KEY (agent_id, broker_id)
);
CREATE INDEX agent_connections_broker_id_idx ON agent_connections (broker_id);
