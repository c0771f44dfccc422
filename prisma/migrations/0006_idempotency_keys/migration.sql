-- Idempotency keys (Idempotency-Key header, clientMutationId): a create retried after a lost
-- response returns its first result instead of creating a duplicate. One row per caller
-- identity, operation and key; request_hash (SHA-256 of the canonical input) tells a true
-- retry from a reused key. Only the created entity's id is kept, never a payload: payloads of
-- createGenerator/createAgent carry a PAK, which is never stored in plain text.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    operation    TEXT NOT NULL,
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash TEXT NOT NULL,
    result_id    UUID,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, operation, key)
);
-- Expired rows are reclaimed when their key comes back and purged a few at a time by each claim.
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
