// Command stc-broker-paper (test build) is the real paper broker with two
// additions for the candle-service tests: every SubscribeCandles call is
// appended to the file named by STC_TEST_SUBSCRIBE_LOG, so a test can count
// upstream subscriptions at the plugin side, and STC_TEST_NO_STREAM=1
// makes it a broker that cannot stream.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/stc-trading/stc/plugins/broker/paper"
	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

type counting struct {
	broker.Broker
	mu       *sync.Mutex
	log      string
	noStream bool
}

func (c counting) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	if c.noStream {
		// Plays a broker that cannot stream, so the host must poll.
		return nil, broker.NewError(broker.ErrUnsupported, "this test broker cannot stream")
	}
	c.mu.Lock()
	f, err := os.OpenFile(c.log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, _ = fmt.Fprintf(f, "%s %s\n", req.Symbol, req.Timeframe)
		_ = f.Close()
	}
	c.mu.Unlock()
	return c.Broker.SubscribeCandles(ctx, req)
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
	logPath := os.Getenv("STC_TEST_SUBSCRIBE_LOG")
	noStream := os.Getenv("STC_TEST_NO_STREAM") == "1"
	plugin.ServeBroker(func() broker.Broker { return counting{Broker: f(), mu: &mu, log: logPath, noStream: noStream} })
}
