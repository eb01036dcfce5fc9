-- Trading in SQLite terms; see postgres/0004_trading.sql for the design.
-- Money is TEXT (exact decimal strings), which shopspring/decimal scans.

-- +goose Up
CREATE TABLE trades (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    bot_id BIGINT,
    account_id BIGINT NOT NULL REFERENCES broker_accounts(id),
    broker VARCHAR(20) NOT NULL,
    symbol VARCHAR(64) NOT NULL,
    direction VARCHAR(4) NOT NULL CHECK (direction IN ('CALL', 'PUT')),
    amount TEXT NOT NULL,
    expiration_ms BIGINT NOT NULL CHECK (expiration_ms > 0),
    status VARCHAR(10) NOT NULL CHECK (status IN ('pending', 'open', 'won', 'lost', 'draw', 'rejected', 'unknown', 'unresolved')),
    client_order_id VARCHAR(64) NOT NULL,
    broker_order_id VARCHAR(128) NOT NULL DEFAULT '',
    open_price TEXT,
    close_price TEXT,
    payout TEXT,
    profit TEXT,
    error TEXT NOT NULL DEFAULT '',
    opened_at BIGINT,
    expires_at BIGINT,
    closed_at BIGINT,
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

CREATE TABLE user_limits (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    max_stake TEXT NOT NULL DEFAULT '0',
    max_open_trades INTEGER NOT NULL DEFAULT 0,
    max_trades_per_day INTEGER NOT NULL DEFAULT 0,
    max_daily_loss TEXT NOT NULL DEFAULT '0',
    cooldown_losses INTEGER NOT NULL DEFAULT 0,
    cooldown_ms BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key VARCHAR(255) NOT NULL,
    request_hash BLOB NOT NULL,
    trade_id BIGINT NOT NULL REFERENCES trades(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE user_limits;
DROP TABLE trades;
