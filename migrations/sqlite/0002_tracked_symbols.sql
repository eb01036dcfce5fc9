-- The tracked set: the (broker, symbol, timeframe) keys the candle service
-- keeps subscribed and backfilled. The operator configures some (source
-- 'config'); it grows when a bot needs a key nobody tracked yet ('bot').

-- +goose Up
CREATE TABLE tracked_symbols (
    broker VARCHAR(20) NOT NULL,
    symbol VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    source VARCHAR(20) NOT NULL DEFAULT 'config',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (broker, symbol, timeframe)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE tracked_symbols;
