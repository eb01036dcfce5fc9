// Command stc-broker-paper (test build) is the real paper broker with a
// few additions for the candle-service tests:
//
//   - every SubscribeCandles call is appended to the file named by
//     STC_TEST_SUBSCRIBE_LOG, so a test can count upstream subscriptions at
//     the plugin side;
//   - every Candles call is appended to STC_TEST_CANDLES_LOG ("symbol
//     timeframe from to"), so a test can count history fetches;
//   - while STC_TEST_CANDLES_GATE names a file that does not exist,
//     Candles calls wait for it (or for their deadline), so a test can
//     hold a fetch in flight;
//   - STC_TEST_NO_STREAM=1 makes it a broker that cannot stream.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/stc-trading/stc/plugins/broker/paper"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

type counting struct {
	broker.Broker
	mu         *sync.Mutex
	log        string
	candlesLog string
	gate       string
	noStream   bool
}

// appendLine adds one line to the file at path (if path is set).
func (c counting) appendLine(path, format string, args ...any) {
	if path == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, _ = fmt.Fprintf(f, format+"\n", args...)
		_ = f.Close()
	}
}

func (c counting) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	if c.noStream {
		// Plays a broker that cannot stream, so the host must poll.
		return nil, broker.NewError(broker.ErrUnsupported, "this test broker cannot stream")
	}
	c.appendLine(c.log, "%s %s", req.Symbol, req.Timeframe)
	return c.Broker.SubscribeCandles(ctx, req)
}

func (c counting) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	c.appendLine(c.candlesLog, "%s %s %d %d", req.Symbol, req.Timeframe, req.From, req.To)
	for c.gate != "" {
		if _, err := os.Stat(c.gate); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return broker.CandlesPage{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return c.Broker.Candles(ctx, req)
}

func main() {
	cfg, err := paper.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	m, err := paper.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer func() { _ = m.Close() }()
	f := m.Factory()
	var mu sync.Mutex
	logs := counting{
		mu: &mu, log: os.Getenv("STC_TEST_SUBSCRIBE_LOG"), candlesLog: os.Getenv("STC_TEST_CANDLES_LOG"),
		gate: os.Getenv("STC_TEST_CANDLES_GATE"), noStream: os.Getenv("STC_TEST_NO_STREAM") == "1",
	}
	plugin.ServeBroker(func() broker.Broker {
		c := logs
		c.Broker = f()
		return c
	})
}
