-- The seed's candles table, kept column for column (BIGSERIAL instead of
-- SERIAL so the id cannot run out). The unique key doubles as the index for
-- every candle query: (symbol, timeframe) equality, a timestamp range, broker
-- filtered inside the index.

-- +goose Up
CREATE TABLE candles (
    id BIGSERIAL PRIMARY KEY,
    symbol VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    timestamp BIGINT NOT NULL,
    open DECIMAL(18, 8) NOT NULL,
    high DECIMAL(18, 8) NOT NULL,
    low DECIMAL(18, 8) NOT NULL,
    close DECIMAL(18, 8) NOT NULL,
    volume DECIMAL(18, 4) DEFAULT 0,
    broker VARCHAR(20) DEFAULT 'iqoption',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(symbol, timeframe, timestamp, broker)
);

-- +goose Down
DROP TABLE candles;
