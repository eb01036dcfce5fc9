-- Idempotency-Key on bot creation (POST /api/v2/bots): the key a create request
-- carried and the hash of its body, so a retried request returns the bot
-- it created and a reused key with another body is refused. Deleting the
-- bot frees its key.

-- +goose Up
ALTER TABLE bots ADD COLUMN idempotency_key VARCHAR(255);
ALTER TABLE bots ADD COLUMN request_hash BYTEA;
CREATE UNIQUE INDEX bots_idempotency ON bots (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- +goose Down
DROP INDEX bots_idempotency;
ALTER TABLE bots DROP COLUMN request_hash;
ALTER TABLE bots DROP COLUMN idempotency_key;
