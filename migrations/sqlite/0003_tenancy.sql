-- Tenancy in SQLite terms; see postgres/0003_tenancy.sql for the design.
-- SQLite has no row-level security: the embedded store is single-operator
-- by nature, and every query is scoped by user_id in Go either way.

-- +goose Up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(254) NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role VARCHAR(10) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind VARCHAR(10) NOT NULL CHECK (kind IN ('session', 'api_key')),
    name VARCHAR(100) NOT NULL DEFAULT '',
    token_hash BLOB NOT NULL UNIQUE,
    prefix VARCHAR(20) NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, kind);

CREATE TABLE plans (
    id VARCHAR(40) PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    price TEXT NOT NULL,
    currency VARCHAR(3) NOT NULL,
    period_days INTEGER NOT NULL,
    trial_days INTEGER NOT NULL DEFAULT 0,
    max_bots INTEGER NOT NULL,
    brokers TEXT NOT NULL,
    strategies TEXT NOT NULL,
    live_trading BOOLEAN NOT NULL,
    public BOOLEAN NOT NULL DEFAULT TRUE,
    sort INTEGER NOT NULL DEFAULT 0
);

INSERT INTO plans (id, name, price, currency, period_days, trial_days, max_bots, brokers, strategies, live_trading, sort) VALUES
    ('practice', 'Practice', '0', 'USD', 0, 0, 1, 'paper', '*', FALSE, 0),
    ('pro', 'Pro', '29.00', 'USD', 30, 7, 10, 'paper,iqoption,mt5,olymptrade', '*', TRUE, 10),
    ('elite', 'Elite', '99.00', 'USD', 30, 0, 100, 'paper,iqoption,mt5,olymptrade', '*', TRUE, 20);

CREATE TABLE subscriptions (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    plan_id VARCHAR(40) NOT NULL REFERENCES plans(id),
    status VARCHAR(10) NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
    current_period_end BIGINT,
    provider_subscription_id VARCHAR(255) UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE billing_events (
    event_id VARCHAR(255) PRIMARY KEY,
    type VARCHAR(100) NOT NULL,
    user_id BIGINT,
    outcome VARCHAR(40) NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE broker_accounts (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    broker VARCHAR(20) NOT NULL,
    mode VARCHAR(10) NOT NULL CHECK (mode IN ('practice', 'real')),
    login VARCHAR(254) NOT NULL DEFAULT '',
    status VARCHAR(30) NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    credentials TEXT,
    key_id VARCHAR(64),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX broker_accounts_user ON broker_accounts (user_id);

-- +goose Down
DROP TABLE broker_accounts;
DROP TABLE billing_events;
DROP TABLE subscriptions;
DROP TABLE plans;
DROP TABLE auth_tokens;
DROP TABLE users;
