-- Login throttling and trusted devices in SQLite terms; see
-- postgres/0008_login_throttle.sql for the design.

-- +goose Up
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    account_key VARCHAR(64) NOT NULL,
    address_key VARCHAR(64) NOT NULL,
    device_id BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX login_attempts_account ON login_attempts (account_key, at);
CREATE INDEX login_attempts_address ON login_attempts (address_key, at);
CREATE INDEX login_attempts_device ON login_attempts (device_id, at) WHERE device_id IS NOT NULL;
CREATE INDEX login_attempts_at ON login_attempts (at);

CREATE TABLE login_devices (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id, expires_at);
CREATE INDEX login_devices_expires ON login_devices (expires_at);

-- +goose Down
DROP TABLE login_devices;
DROP TABLE login_attempts;
