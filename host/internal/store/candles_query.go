package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stc-trading/stc/sdk/market"
)

// Order says which end of a range a limit keeps. Results are ascending
// whatever the order.
type Order int

const (
	// OrderAuto is OrderLatest when from is 0, else OrderEarliest: the
	// API's "latest N" and "N from a time" in one call.
	OrderAuto Order = iota
	// OrderEarliest keeps the first limit candles at or after from.
	OrderEarliest
	// OrderLatest keeps the last limit candles before to.
	OrderLatest
)

// Candles returns up to limit candles of a key with from ≤ time < to,
// ascending. from 0 and to 0 leave that side open; limit ≤ 0 means no
// limit. order picks which end the limit keeps.
func (s *Store) Candles(ctx context.Context, broker, symbol string, tf market.Timeframe, from, to int64, limit int, order Order) (market.Series, error) {
	k, err := newKey(broker, symbol, tf)
	if err != nil {
		return nil, fmt.Errorf("store: candles: %w", err)
	}
	if order == OrderAuto {
		order = OrderEarliest
		if from == 0 {
			order = OrderLatest
		}
	}
	var q strings.Builder
	q.WriteString("SELECT timestamp, open, high, low, close, volume FROM candles WHERE symbol = ? AND timeframe = ? AND broker = ?")
	args := []any{k.symbol, k.tf, k.broker}
	if from != 0 {
		q.WriteString(" AND timestamp >= ?")
		args = append(args, from)
	}
	if to != 0 {
		q.WriteString(" AND timestamp < ?")
		args = append(args, to)
	}
	// The latest N are read newest first so the index scan stops after N
	// rows, then reversed.
	desc := order == OrderLatest
	if desc {
		q.WriteString(" ORDER BY timestamp DESC")
	} else {
		q.WriteString(" ORDER BY timestamp")
	}
	if limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, limit)
	}
	rows, err := s.rdb.QueryContext(ctx, s.rdb.Rebind(q.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("store: candles: %w", mapError(err))
	}
	defer func() { _ = rows.Close() }()
	out := make(market.Series, 0, max(0, min(limit, 10000)))
	for rows.Next() {
		var (
			c                            market.Candle
			open, high, low, close, volu decimalFloat
		)
		if err := rows.Scan(&c.Time, &open, &high, &low, &close, &volu); err != nil {
			return nil, fmt.Errorf("store: candles: %w", err)
		}
		c.Open, c.High, c.Low, c.Close, c.Volume = float64(open), float64(high), float64(low), float64(close), float64(volu)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: candles: %w", mapError(err))
	}
	if desc {
		slices.Reverse(out)
	}
	return out, nil
}

// LatestCandleTime returns the open time of a key's newest stored candle;
// ok is false when none is stored. Gap backfill starts after it.
func (s *Store) LatestCandleTime(ctx context.Context, broker, symbol string, tf market.Timeframe) (t int64, ok bool, err error) {
	k, err := newKey(broker, symbol, tf)
	if err != nil {
		return 0, false, fmt.Errorf("store: latest candle: %w", err)
	}
	const q = "SELECT timestamp FROM candles WHERE symbol = ? AND timeframe = ? AND broker = ? ORDER BY timestamp DESC LIMIT 1"
	err = s.rdb.QueryRowContext(ctx, s.rdb.Rebind(q), k.symbol, k.tf, k.broker).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: latest candle: %w", mapError(err))
	}
	return t, true, nil
}

// CountCandles counts stored candles; an empty broker or symbol, or a zero
// timeframe, matches every value of that column. Meant for tests and
// tooling: it scans the index.
func (s *Store) CountCandles(ctx context.Context, broker, symbol string, tf market.Timeframe) (int64, error) {
	var (
		where []string
		args  []any
	)
	if broker != "" {
		where, args = append(where, "broker = ?"), append(args, broker)
	}
	if symbol != "" {
		where, args = append(where, "symbol = ?"), append(args, symbol)
	}
	if tf != 0 {
		where, args = append(where, "timeframe = ?"), append(args, tf.String())
	}
	q := "SELECT count(*) FROM candles"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, s.rdb.Rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count candles: %w", mapError(err))
	}
	return n, nil
}
