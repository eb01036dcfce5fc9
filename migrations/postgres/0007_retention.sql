-- Retention: the housekeeping of `stc serve` deletes, by age, the
-- Idempotency-Key records of trades (after trading's IdempotencyTTL), the
-- processed billing webhook events, and the sessions and API keys that
-- expired or were revoked long ago. These indexes let it find them
-- without reading the tables whole.

-- +goose Up
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX billing_events_received ON billing_events (received_at);
CREATE INDEX auth_tokens_expires ON auth_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX auth_tokens_revoked ON auth_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX auth_tokens_revoked;
DROP INDEX auth_tokens_expires;
DROP INDEX billing_events_received;
DROP INDEX idempotency_keys_created;
