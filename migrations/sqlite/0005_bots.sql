-- Bots in SQLite terms; see postgres/0005_bots.sql for the design. Money is
-- TEXT holding the exact decimal, as in 0003_tenancy.sql.

-- +goose Up
CREATE TABLE bots (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    strategy VARCHAR(64) NOT NULL,
    params TEXT NOT NULL,
    broker VARCHAR(20) NOT NULL,
    symbol VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    amount TEXT NOT NULL,
    expiration_seconds INTEGER NOT NULL,
    max_stake TEXT,
    max_daily_loss TEXT,
    max_open_trades INTEGER NOT NULL DEFAULT 0,
    max_trades_per_day INTEGER NOT NULL DEFAULT 0,
    cooldown_losses INTEGER NOT NULL DEFAULT 0,
    cooldown_candles INTEGER NOT NULL DEFAULT 0,
    progression VARCHAR(12) NOT NULL DEFAULT 'none' CHECK (progression IN ('none', 'martingale', 'soros')),
    progression_multiplier TEXT,
    progression_max_steps INTEGER NOT NULL DEFAULT 0,
    progression_max_stake TEXT,
    status VARCHAR(10) NOT NULL CHECK (status IN ('stopped', 'running', 'paused', 'error')),
    status_reason TEXT NOT NULL DEFAULT '',
    last_signal VARCHAR(10) NOT NULL DEFAULT '',
    last_signal_reason TEXT NOT NULL DEFAULT '',
    last_signal_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bots_user ON bots (user_id, id);
CREATE INDEX bots_status ON bots (status);

-- +goose Down
DROP TABLE bots;
