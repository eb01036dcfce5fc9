-- The per-user analytics (host/internal/trading/analytics.go) read a
-- user's settled trades by close time: counts, wins, profit per day, hour,
-- symbol and bot, and the equity curve. This partial index holds every
-- column they read, in close order, so both stores answer from the index
-- alone instead of fetching each row of a long history (docs/BENCHMARKS.md
-- "Analytics"). It costs one index entry per trade, written when the trade
-- settles: settled rows do not change.

-- +goose Up
CREATE INDEX trades_user_settled_analytics ON trades (user_id, closed_at, id, bot_id, symbol, status, profit, account_id)
    WHERE status IN ('won', 'lost', 'draw');

-- +goose Down
DROP INDEX trades_user_settled_analytics;
