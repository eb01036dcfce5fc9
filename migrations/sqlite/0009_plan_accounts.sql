-- The plans' account limit; see postgres/0008_plan_accounts.sql for the
-- design. DROP COLUMN needs SQLite 3.35 or later (the embedded driver's is).

-- +goose Up
ALTER TABLE plans ADD COLUMN max_accounts INTEGER NOT NULL DEFAULT 3;
UPDATE plans SET max_accounts = 3 WHERE id = 'practice';
UPDATE plans SET max_accounts = 10 WHERE id = 'pro';
UPDATE plans SET max_accounts = 50 WHERE id = 'elite';

-- +goose Down
ALTER TABLE plans DROP COLUMN max_accounts;
