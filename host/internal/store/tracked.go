package store

import (
	"context"
	"fmt"
	"time"

	"github.com/stc-trading/stc/sdk/market"
)

// Sources of a tracked key.
const (
	// SourceConfig: the operator listed the key in the configuration.
	SourceConfig = "config"
	// SourceBot: a bot needed the key and the candle service added it.
	SourceBot = "bot"
)

// maxSourceLen is the width of tracked_symbols.source.
const maxSourceLen = 20

// TrackedSymbol is one (broker, symbol, timeframe) the candle service keeps
// subscribed and backfilled.
type TrackedSymbol struct {
	Broker    string
	Symbol    string
	Timeframe market.Timeframe
	Source    string
	CreatedAt time.Time // UTC; set by TrackSymbol
}

// TrackSymbol adds a key to the tracked set. added is false (and nothing
// changes, the first source is kept) when the key is already tracked, so
// every bot can call it on start.
func (s *Store) TrackSymbol(ctx context.Context, broker, symbol string, tf market.Timeframe, source string) (added bool, err error) {
	k, err := newKey(broker, symbol, tf)
	if err != nil {
		return false, fmt.Errorf("store: track symbol: %w", err)
	}
	if err := checkKeyPart("source", source, maxSourceLen); err != nil {
		return false, fmt.Errorf("store: track symbol: %w", err)
	}
	const q = `INSERT INTO tracked_symbols (broker, symbol, timeframe, source, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), k.broker, k.symbol, k.tf, source, now())
	if err != nil {
		return false, fmt.Errorf("store: track symbol: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: track symbol: %w", err)
	}
	return n == 1, nil
}

// UntrackSymbol removes a key from the tracked set; ErrNotFound if it was
// not tracked. Stored candles stay.
func (s *Store) UntrackSymbol(ctx context.Context, broker, symbol string, tf market.Timeframe) error {
	k, err := newKey(broker, symbol, tf)
	if err != nil {
		return fmt.Errorf("store: untrack symbol: %w", err)
	}
	const q = "DELETE FROM tracked_symbols WHERE broker = ? AND symbol = ? AND timeframe = ?"
	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), k.broker, k.symbol, k.tf)
	if err != nil {
		return fmt.Errorf("store: untrack symbol: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: untrack symbol: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: untrack %s %s %s: %w", broker, symbol, tf, ErrNotFound)
	}
	return nil
}

// TrackedSymbols lists the tracked set ordered by broker, symbol and
// timeframe; an empty broker lists every broker's keys.
func (s *Store) TrackedSymbols(ctx context.Context, broker string) ([]TrackedSymbol, error) {
	q := "SELECT broker, symbol, timeframe, source, created_at FROM tracked_symbols"
	var args []any
	if broker != "" {
		q += " WHERE broker = ?"
		args = append(args, broker)
	}
	q += " ORDER BY broker, symbol, timeframe"
	var rows []struct {
		Broker    string    `db:"broker"`
		Symbol    string    `db:"symbol"`
		Timeframe string    `db:"timeframe"`
		Source    string    `db:"source"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.rdb.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: tracked symbols: %w", mapError(err))
	}
	out := make([]TrackedSymbol, 0, len(rows))
	for _, r := range rows {
		tf, err := market.ParseTimeframe(r.Timeframe)
		if err != nil {
			return nil, fmt.Errorf("store: tracked symbols: %s %s: %w", r.Broker, r.Symbol, err)
		}
		out = append(out, TrackedSymbol{Broker: r.Broker, Symbol: r.Symbol, Timeframe: tf, Source: r.Source, CreatedAt: r.CreatedAt.UTC()})
	}
	return out, nil
}
