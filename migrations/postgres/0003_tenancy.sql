-- Tenancy: users, their login tokens and API keys, plans and subscriptions,
-- billing events (the webhook's idempotency record) and broker accounts.
--
-- Conventions for every tenant table (here and in later migrations):
-- * times are Unix milliseconds (UTC) in BIGINT, so both dialects store,
--   compare and scan them identically;
-- * every row that belongs to a user carries user_id, and row-level
--   security limits it to the user named by the transaction-local setting
--   stc.user_id, unless the transaction declared itself a system task
--   (stc.scope = 'system': the webhook, workers). The host sets both in
--   store.Store.Tenant/System; a query that forgets them sees nothing.
-- * the application runs as the role stc_app, which owns nothing and is
--   not a superuser, so the policies apply to it (they would not apply to
--   the owner). The store switches to it after migrating.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stc_app') THEN
        CREATE ROLE stc_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION
    -- Two schemas migrating at once race on the cluster-wide role.
    WHEN duplicate_object OR unique_violation THEN NULL;
    -- A login without CREATEROLE: the operator creates the role (see
    -- docs/CONFIG.md); until then the host warns that RLS is not enforced.
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'stc: cannot create role stc_app; row-level security will not apply to the owner';
END
$$;
-- +goose StatementEnd

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    email VARCHAR(254) NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role VARCHAR(10) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Login sessions (kind 'session') and API keys (kind 'api_key'). Only the
-- SHA-256 of a token is stored; prefix is the first characters, shown so a
-- user can tell keys apart.
CREATE TABLE auth_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind VARCHAR(10) NOT NULL CHECK (kind IN ('session', 'api_key')),
    name VARCHAR(100) NOT NULL DEFAULT '',
    token_hash BYTEA NOT NULL UNIQUE,
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
    price NUMERIC(12, 2) NOT NULL,
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
    ('practice', 'Practice', 0, 'USD', 0, 0, 1, 'paper', '*', FALSE, 0),
    ('pro', 'Pro', 29.00, 'USD', 30, 7, 10, 'paper,iqoption,mt5,olymptrade', '*', TRUE, 10),
    ('elite', 'Elite', 99.00, 'USD', 30, 0, 100, 'paper,iqoption,mt5,olymptrade', '*', TRUE, 20);

-- A user's current subscription; no row means the practice plan.
CREATE TABLE subscriptions (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    plan_id VARCHAR(40) NOT NULL REFERENCES plans(id),
    status VARCHAR(10) NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
    current_period_end BIGINT,
    provider_subscription_id VARCHAR(255) UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every webhook event applied, so a redelivery changes nothing.
CREATE TABLE billing_events (
    event_id VARCHAR(255) PRIMARY KEY,
    type VARCHAR(100) NOT NULL,
    user_id BIGINT,
    outcome VARCHAR(40) NOT NULL,
    received_at BIGINT NOT NULL
);

-- A user's broker account. credentials is the sealed (AES-256-GCM) JSON of
-- what the broker needs to log in, bound to (user_id, id); key_id names the
-- key that sealed it so `stc keys rotate` can re-wrap.
CREATE TABLE broker_accounts (
    id BIGSERIAL PRIMARY KEY,
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

ALTER TABLE auth_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE broker_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON auth_tokens
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);
CREATE POLICY tenant ON subscriptions
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);
CREATE POLICY tenant ON broker_accounts
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);

-- +goose Down
DROP TABLE broker_accounts;
DROP TABLE billing_events;
DROP TABLE subscriptions;
DROP TABLE plans;
DROP TABLE auth_tokens;
DROP TABLE users;
