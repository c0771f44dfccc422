-- At most one live generated evidence signing key (one with a sealed private key, not retired):
-- brokers starting at once each generate a key and insert it ON CONFLICT DO NOTHING against this
-- index, then all re-read the one that won, so every broker signs with the same key.
CREATE UNIQUE INDEX evidence_signing_keys_one_generated_key ON evidence_signing_keys ((true))
    WHERE private_key_sealed IS NOT NULL AND retired_at IS NULL;
