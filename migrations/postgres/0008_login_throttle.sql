-- Login throttling that holds across hosts sharing one database, and the
-- trusted devices that let an account's owner in while someone else is
-- guessing its password (docs/SECURITY.md, "Login throttling").
--
-- login_attempts: one row per password check, written before the hash is
-- computed (the reservation) and deleted when the check succeeds, so the
-- rows of the last window are the failures and the checks in flight.
-- account_key and address_key are SHA-256 hex of the normalized email and
-- client address (auth.ThrottleKey): fixed width whatever the client sent,
-- and neither emails nor addresses are kept here. device_id is set when the
-- check came with a trusted-device token; such checks count against that
-- device only. The table has no user_id (unknown emails are throttled too)
-- and so no row-level security; only the system scope uses it.

-- +goose Up
CREATE TABLE login_attempts (
    id BIGSERIAL PRIMARY KEY,
    account_key VARCHAR(64) NOT NULL,
    address_key VARCHAR(64) NOT NULL,
    device_id BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX login_attempts_account ON login_attempts (account_key, at);
CREATE INDEX login_attempts_address ON login_attempts (address_key, at);
CREATE INDEX login_attempts_device ON login_attempts (device_id, at) WHERE device_id IS NOT NULL;
CREATE INDEX login_attempts_at ON login_attempts (at);

-- A browser or client that logged in successfully. Only the SHA-256 of the
-- token is stored, as for sessions.
CREATE TABLE login_devices (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id, expires_at);
CREATE INDEX login_devices_expires ON login_devices (expires_at);

ALTER TABLE login_devices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON login_devices
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);

-- +goose Down
DROP TABLE login_devices;
DROP TABLE login_attempts;
