-- A plan's limit of broker accounts a user may have at once (every
-- account that is not disconnected counts; a host restart re-opens all of
-- them). Without it a free user could connect hundreds of accounts, each
-- a broker session the host keeps and re-opens at every start.
-- Existing accounts over a lowered limit stay; only new connects are
-- refused until the user is under it.

-- +goose Up
ALTER TABLE plans ADD COLUMN max_accounts INTEGER NOT NULL DEFAULT 3;
UPDATE plans SET max_accounts = 3 WHERE id = 'practice';
UPDATE plans SET max_accounts = 10 WHERE id = 'pro';
UPDATE plans SET max_accounts = 50 WHERE id = 'elite';

-- +goose Down
ALTER TABLE plans DROP COLUMN max_accounts;
