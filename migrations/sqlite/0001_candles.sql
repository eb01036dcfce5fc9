-- The seed's candles table in SQLite terms: same columns, defaults and
-- unique key. Prices are REAL (not NUMERIC) so values always come back as
-- float64; the store rounds them to the PostgreSQL scales (8 and 4 decimals)
-- before writing so both stores return the same numbers.

-- +goose Up
CREATE TABLE candles (
    id INTEGER PRIMARY KEY,
    symbol VARCHAR(50) NOT NULL,
    timeframe VARCHAR(10) NOT NULL,
    timestamp BIGINT NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL DEFAULT 0,
    broker VARCHAR(20) DEFAULT 'iqoption',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(symbol, timeframe, timestamp, broker)
);

-- +goose Down
DROP TABLE candles;
