-- Trading: trades (manual and bot), each user's risk limits, and the
-- Idempotency-Key record of trade-creating requests. Conventions as in
-- 0003_tenancy.sql: Unix-millisecond BIGINT times, user_id on every row,
-- row-level security with the same tenant policy.
--
-- A trade row is written (status 'pending', host-generated
-- client_order_id) and committed before the broker is called; see
-- host/internal/trading for the state machine. bot_id is NULL for manual
-- trades and has no foreign key: a deleted bot's trades keep its id.

-- +goose Up
CREATE TABLE trades (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bot_id BIGINT,
    account_id BIGINT NOT NULL REFERENCES broker_accounts(id),
    broker VARCHAR(20) NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    direction VARCHAR(4) NOT NULL CHECK (direction IN ('CALL', 'PUT')),
    amount NUMERIC(20, 8) NOT NULL CHECK (amount > 0),
    expiration_ms BIGINT NOT NULL CHECK (expiration_ms > 0),
    status VARCHAR(10) NOT NULL CHECK (status IN ('pending', 'open', 'won', 'lost', 'draw', 'rejected', 'unknown', 'unresolved')),
    client_order_id VARCHAR(64) NOT NULL,
    broker_order_id VARCHAR(128) NOT NULL DEFAULT '',
    open_price NUMERIC(20, 8),
    close_price NUMERIC(20, 8),
    payout NUMERIC(20, 8),
    -- NULL until the trade is won, lost or draw.
    profit NUMERIC(20, 8),
    error TEXT NOT NULL DEFAULT '',
    -- The broker's times (its clock).
    opened_at BIGINT,
    expires_at BIGINT,
    closed_at BIGINT,
    -- The host's times (its clock): when the row was written, when it is
    -- next due for a look at the broker (settlement polling and
    -- reconciliation), and when a final state was recorded (daily loss and
    -- cool-down count in the host's UTC day).
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    due_at BIGINT,
    next_check_at BIGINT,
    settled_at BIGINT,
    UNIQUE (account_id, client_order_id)
);
-- Lists and pages (id), per bot; risk checks (trades in flight, created
-- and settled today, the last results); stats and recent results (close
-- time); the settlement sweep (next look at the broker).
CREATE INDEX trades_user ON trades (user_id, id);
CREATE INDEX trades_user_bot ON trades (user_id, bot_id, id);
CREATE INDEX trades_user_active ON trades (user_id, bot_id) WHERE status IN ('pending', 'open', 'unknown');
CREATE INDEX trades_user_created ON trades (user_id, created_at);
CREATE INDEX trades_user_settled ON trades (user_id, settled_at);
CREATE INDEX trades_user_closed ON trades (user_id, closed_at);
CREATE INDEX trades_due ON trades (next_check_at) WHERE status IN ('pending', 'open', 'unknown');

-- A user's own risk limits; no row means the defaults of
-- trading.DefaultLimits. A zero column is "no limit".
CREATE TABLE user_limits (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    max_stake NUMERIC(20, 8) NOT NULL DEFAULT 0,
    max_open_trades INTEGER NOT NULL DEFAULT 0,
    max_trades_per_day INTEGER NOT NULL DEFAULT 0,
    max_daily_loss NUMERIC(20, 8) NOT NULL DEFAULT 0,
    cooldown_losses INTEGER NOT NULL DEFAULT 0,
    cooldown_ms BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

-- Idempotency-Key of a trade-creating request: the same key with the same
-- request hash returns trade_id again; another hash is a conflict.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key VARCHAR(255) NOT NULL,
    request_hash BYTEA NOT NULL,
    trade_id BIGINT NOT NULL REFERENCES trades(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

ALTER TABLE trades ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON trades
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);
CREATE POLICY tenant ON user_limits
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);
CREATE POLICY tenant ON idempotency_keys
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE user_limits;
DROP TABLE trades;
