-- Bots: a user's automatic trader (strategy + account + symbol + money
-- management). Conventions as in 0003_tenancy.sql: Unix-millisecond BIGINT
-- times, money NUMERIC(20, 8), user_id on every row, row-level security.
--
-- Trades keep their bot_id when a bot is deleted: trades.bot_id (0004) has
-- no foreign key to this table, so the history and the per-bot stats stay.
-- The progression state (martingale and soros streaks) is not stored here:
-- it is derived from the bot's settled trades, which survive any restart.

-- +goose Up
CREATE TABLE bots (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES broker_accounts(id) ON DELETE CASCADE,
    name VARCHAR(100) NOT NULL,
    strategy VARCHAR(64) NOT NULL,
    -- JSON object of the strategy's raw parameter values (strings).
    params TEXT NOT NULL,
    -- The account's broker, copied at create so the runner needs no join.
    broker VARCHAR(20) NOT NULL,
    symbol VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    amount NUMERIC(20, 8) NOT NULL,
    expiration_seconds INTEGER NOT NULL,
    -- Limits; NULL or 0 means no limit of that kind.
    max_stake NUMERIC(20, 8),
    max_daily_loss NUMERIC(20, 8),
    max_open_trades INTEGER NOT NULL DEFAULT 0,
    max_trades_per_day INTEGER NOT NULL DEFAULT 0,
    cooldown_losses INTEGER NOT NULL DEFAULT 0,
    cooldown_candles INTEGER NOT NULL DEFAULT 0,
    progression VARCHAR(12) NOT NULL DEFAULT 'none' CHECK (progression IN ('none', 'martingale', 'soros')),
    progression_multiplier NUMERIC(20, 8),
    progression_max_steps INTEGER NOT NULL DEFAULT 0,
    progression_max_stake NUMERIC(20, 8),
    status VARCHAR(10) NOT NULL CHECK (status IN ('stopped', 'running', 'paused', 'error')),
    status_reason TEXT NOT NULL DEFAULT '',
    -- The last trade signal (call or put) and the last error, for display.
    last_signal VARCHAR(10) NOT NULL DEFAULT '',
    last_signal_reason TEXT NOT NULL DEFAULT '',
    last_signal_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bots_user ON bots (user_id, id);
-- The host's resume at start reads the running bots of every user.
CREATE INDEX bots_status ON bots (status);

ALTER TABLE bots ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON bots
    USING (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT)
    WITH CHECK (current_setting('stc.scope', true) = 'system' OR user_id = NULLIF(current_setting('stc.user_id', true), '')::BIGINT);

-- +goose Down
DROP TABLE bots;
