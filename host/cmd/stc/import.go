package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/market"
)

// importBatch is the rows per store write: large enough for COPY to pay
// off, small enough to bound memory on huge files.
const importBatch = 20_000

// importCmd loads a "time,open,high,low,close,volume" CSV file (time in
// Unix seconds; a header line is optional) into the store.
func importCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("candles import", flag.ContinueOnError)
	var k keyFlags
	k.register(fs)
	dbURL := fs.String("database-url", os.Getenv("STC_DATABASE_URL"), "postgres:// URL; empty = embedded store")
	dataDir := fs.String("data-dir", envOr("STC_DATA_DIR", "./data"), "data directory of the embedded store")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tf, err := k.parse()
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give exactly one CSV file")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	s, err := store.Open(ctx, *dbURL, *dataDir, newLogger("warn"))
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	total, err := importCSV(ctx, s, f, k.broker, k.symbol, tf)
	fmt.Printf("%s: %d inserted, %d already stored, %d rejected\n", fs.Arg(0), total.Inserted, total.Duplicates, total.Rejected)
	return err
}

// candleInserter is the part of the store an import needs.
type candleInserter interface {
	InsertCandles(ctx context.Context, broker, symbol string, tf market.Timeframe, c market.Series) (store.InsertResult, error)
}

func importCSV(ctx context.Context, s candleInserter, r io.Reader, brokerName, symbol string, tf market.Timeframe) (store.InsertResult, error) {
	var total store.InsertResult
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	batch := make(market.Series, 0, importBatch)
	flush := func() error {
		res, err := s.InsertCandles(ctx, brokerName, symbol, tf, batch)
		total.Add(res)
		batch = batch[:0]
		return err
	}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return total, fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 && len(rec) > 0 && rec[0] == "time" {
			continue // header
		}
		if len(rec) < 5 {
			return total, fmt.Errorf("line %d: %d columns, want time,open,high,low,close[,volume]", line, len(rec))
		}
		var c market.Candle
		if c.Time, err = strconv.ParseInt(rec[0], 10, 64); err != nil {
			return total, fmt.Errorf("line %d: time %q is not Unix seconds", line, rec[0])
		}
		cols := []*float64{&c.Open, &c.High, &c.Low, &c.Close, &c.Volume}
		for i, dst := range cols {
			if i+1 >= len(rec) {
				break
			}
			if *dst, err = strconv.ParseFloat(rec[i+1], 64); err != nil {
				return total, fmt.Errorf("line %d: column %d %q is not a number", line, i+2, rec[i+1])
			}
		}
		batch = append(batch, c)
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	return total, nil
}
