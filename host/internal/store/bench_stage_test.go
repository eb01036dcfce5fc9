package store_test

// The usual designs for duplicate-tolerant bulk ingest, kept only as
// benchmark baselines (docs/BENCHMARKS.md, "Candle ingest into
// PostgreSQL"): COPY (lib/pq, one Stmt.Exec per row) into an unlogged
// stage, then move the rows into candles with an anti-join or ON CONFLICT
// DO NOTHING. The store writes straight into candles instead; see
// ingest_postgres.go.

import (
	"context"
	"testing"
)

const (
	stageAntiJoin   = "stage_antijoin"
	stageOnConflict = "stage_onconflict"
)

// stageInsert ingests p.data through a stage and returns the rows moved.
func stageInsert(b *testing.B, p *pgBench, final string) int {
	ctx := context.Background()
	db := p.s.DB()
	if _, err := db.Exec(`CREATE UNLOGGED TABLE IF NOT EXISTS candles_stage (symbol text, timeframe text,
		timestamp bigint, open numeric, high numeric, low numeric, close numeric, volume numeric, broker text)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Exec("TRUNCATE candles_stage"); err != nil {
		b.Fatal(err)
	}
	st, err := tx.Prepare("COPY candles_stage (symbol, timeframe, timestamp, open, high, low, close, volume, broker) FROM STDIN")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }() // before Rollback: the lib/pq pitfall
	for _, kc := range p.data {
		for _, c := range kc.Candles {
			if _, err := st.Exec(kc.Symbol, "1m", c.Time, c.Open, c.High, c.Low, c.Close, c.Volume, kc.Broker); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := st.Exec(); err != nil {
		b.Fatal(err)
	}
	move := `INSERT INTO candles (symbol, timeframe, timestamp, open, high, low, close, volume, broker)
		SELECT s.symbol, s.timeframe, s.timestamp, s.open, s.high, s.low, s.close, s.volume, s.broker FROM candles_stage s`
	if final == stageAntiJoin {
		move += ` WHERE NOT EXISTS (SELECT 1 FROM candles c WHERE c.symbol = s.symbol AND c.timeframe = s.timeframe
			AND c.timestamp = s.timestamp AND c.broker = s.broker)`
	} else {
		move += " ON CONFLICT DO NOTHING"
	}
	res, err := tx.Exec(move)
	if err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	n, _ := res.RowsAffected()
	return int(n)
}
