package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/stc-trading/stc/host/internal/app"
	"github.com/stc-trading/stc/host/internal/config"
	"github.com/stc-trading/stc/host/internal/metrics"
	"github.com/stc-trading/stc/host/internal/store"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// candlesCmd runs `stc candles backfill|import`.
func candlesCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: stc candles backfill --broker B --symbol S --timeframe TF --from DATE [--to DATE] | stc candles import --broker B --symbol S --timeframe TF FILE.csv")
	}
	switch args[0] {
	case "backfill":
		return backfillCmd(ctx, args[1:])
	case "import":
		return importCmd(ctx, args[1:])
	}
	return fmt.Errorf("unknown candles command %q (want backfill or import)", args[0])
}

type keyFlags struct {
	broker, symbol, timeframe string
}

func (k *keyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.broker, "broker", "", "broker plugin name (required)")
	fs.StringVar(&k.symbol, "symbol", "", "symbol, e.g. EURUSD-OTC")
	fs.StringVar(&k.timeframe, "timeframe", "1m", "1m 5m 15m 30m 1h 4h 1d")
}

func (k *keyFlags) parse() (market.Timeframe, error) {
	if k.broker == "" {
		return 0, errors.New("--broker is required")
	}
	if k.symbol == "" {
		return 0, errors.New("--symbol is required")
	}
	return market.ParseTimeframe(k.timeframe)
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want 2026-01-02 or RFC 3339)", s)
}

// backfillCmd copies a range of broker history into the store, page by
// page, with a progress bar over the time range.
func backfillCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("candles backfill", flag.ContinueOnError)
	var k keyFlags
	k.register(fs)
	fromText := fs.String("from", "", "start date (inclusive), e.g. 2026-01-01")
	toText := fs.String("to", "", "end date (exclusive); default now")
	var rest []string
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest = fs.Args()
	tf, err := k.parse()
	if err != nil {
		return err
	}
	if *fromText == "" {
		return errors.New("--from is required")
	}
	from, err := parseDate(*fromText)
	if err != nil {
		return err
	}
	to := time.Now().UTC()
	if *toText != "" {
		if to, err = parseDate(*toText); err != nil {
			return err
		}
	}
	if !from.Before(to) {
		return errors.New("--from must be before --to")
	}
	cfg, err := config.Load(rest, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger("warn")
	s, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	m, _, _, err := app.StartPlugins(ctx, cfg, os.Environ(), log, metrics.New(), nil)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close(context.Background()) }()
	h, err := m.Broker(ctx, k.broker)
	if err != nil {
		return err
	}
	b := h.Session("")
	start, end := tf.Align(from.Unix()), tf.Align(to.Unix())
	bar := progressbar.NewOptions64((end-start)/tf.Seconds(),
		progressbar.OptionSetDescription(fmt.Sprintf("%s %s %s", k.broker, k.symbol, tf)),
		progressbar.OptionSetWriter(os.Stderr), progressbar.OptionShowCount(), progressbar.OptionSetItsString("candles"), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	var total store.InsertResult
	token := ""
	for {
		page, err := b.Candles(ctx, broker.CandlesRequest{Symbol: k.symbol, Timeframe: tf, From: start, To: end, PageSize: 5000, PageToken: token})
		if err != nil {
			return err
		}
		res, err := s.InsertCandles(ctx, k.broker, k.symbol, tf, page.Candles)
		if err != nil {
			return err
		}
		total.Add(res)
		if last, ok := page.Candles.Last(); ok {
			_ = bar.Set64((last.Time-start)/tf.Seconds() + 1)
		}
		if page.NextPageToken == "" {
			break
		}
		token = page.NextPageToken
	}
	_ = bar.Finish()
	fmt.Printf("%s %s %s: %d inserted, %d already stored, %d rejected\n", k.broker, k.symbol, tf, total.Inserted, total.Duplicates, total.Rejected)
	return nil
}
