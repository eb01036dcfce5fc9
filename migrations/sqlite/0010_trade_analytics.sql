-- The analytics' covering index; see postgres/0010_trade_analytics.sql.
-- SQLite uses a partial index only for a query whose WHERE repeats the
-- index's condition term for term, as the analytics queries do.

-- +goose Up
CREATE INDEX trades_user_settled_analytics ON trades (user_id, closed_at, id, bot_id, symbol, status, profit, account_id)
    WHERE status IN ('won', 'lost', 'draw');

-- +goose Down
DROP INDEX trades_user_settled_analytics;
