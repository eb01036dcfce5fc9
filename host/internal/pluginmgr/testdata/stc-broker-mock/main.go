// Command stc-broker-mock is pluginmgr's test broker: an in-memory account
// that accepts password "secret". STC_TEST_PER_SESSION=1 makes it ask for
// one process per session. Orders on symbol CLOSED fail with
// broker.ErrMarketClosed, and orders on HANG block until their call ends
// (to kill the process under a call). Candles of symbol SLOW take
// PageSize milliseconds (0: until the call ends), and Instruments lists a
// STATS entry whose name is "<in flight> <entered> <most at once>" of
// those calls, so a test can see what reached the plugin.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
	"github.com/stc-trading/stc/sdk/plugin"
	"github.com/stc-trading/stc/sdk/schema"
)

type mock struct {
	mu     sync.Mutex
	user   string
	orders map[string]broker.Order
	slow   *slowStats // shared by every session of the process
}

// slowStats counts the SLOW candle calls of the process.
type slowStats struct {
	mu                      sync.Mutex
	inflight, entered, most int
}

func (s *slowStats) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight++
	s.entered++
	s.most = max(s.most, s.inflight)
}

func (s *slowStats) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
}

func (s *slowStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d %d %d", s.inflight, s.entered, s.most)
}

func (m *mock) Metadata() broker.Metadata {
	return broker.Metadata{
		Name:    "mock",
		Version: "1.0.0",
		Credentials: []schema.Field{
			{Name: "user", Type: schema.String, Required: true},
			{Name: "password", Type: schema.String, Required: true, Sensitive: true},
		},
		Capabilities: broker.Capabilities{CandleStream: true, OrderStream: true, AnonymousMarketData: true},
		PerSession:   os.Getenv("STC_TEST_PER_SESSION") == "1",
	}
}

func (m *mock) Open(_ context.Context, req broker.OpenRequest) (broker.Account, error) {
	if req.Credentials["password"] != "secret" {
		return broker.Account{}, broker.NewError(broker.ErrAuthFailed, "wrong password")
	}
	m.mu.Lock()
	m.user = req.Credentials["user"]
	m.mu.Unlock()
	return broker.Account{Balance: decimal.NewFromInt(1000), Currency: "USD", AccountRef: "mock-" + req.Credentials["user"]}, nil
}

func (m *mock) Close(context.Context) error { return nil }

func (m *mock) Instruments(context.Context) ([]broker.Instrument, error) {
	return []broker.Instrument{{Symbol: "EURUSD", Name: "Euro / US Dollar", Market: "forex", PayoutPercent: 85, Open: true,
		MinStake: decimal.NewFromInt(1), MaxStake: decimal.NewFromInt(100), Expiries: []time.Duration{time.Minute}},
		{Symbol: "STATS", Name: m.slow.String(), Market: "test"}}, nil
}

func candle(t int64) market.Candle {
	return market.Candle{Time: t, Open: 1.1, High: 1.2, Low: 1.0, Close: 1.15, Volume: 1}
}

func (m *mock) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	if req.Symbol == "SLOW" {
		m.slow.enter()
		defer m.slow.leave()
		var wait <-chan time.Time
		if req.PageSize > 0 {
			wait = time.After(time.Duration(req.PageSize) * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return broker.CandlesPage{}, ctx.Err()
		case <-wait:
		}
	}
	return broker.CandlesPage{Candles: market.Series{candle(req.From), candle(req.From + 60)}}, nil
}

func (m *mock) SubscribeCandles(ctx context.Context, _ broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	ch := make(chan broker.CandleEvent)
	go func() {
		defer close(ch)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case ch <- broker.CandleEvent{Candle: candle(i * 60), Closed: true}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

func (m *mock) Balance(context.Context) (broker.Balance, error) {
	return broker.Balance{Amount: decimal.NewFromInt(1000), Currency: "USD", Mode: broker.Practice}, nil
}

func (m *mock) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	switch req.Symbol {
	case "CLOSED":
		return broker.Order{}, broker.NewError(broker.ErrMarketClosed, "%s is closed", req.Symbol)
	case "HANG":
		<-ctx.Done()
		return broker.Order{}, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.orders[req.ClientOrderID]; ok {
		return o, nil
	}
	o := broker.Order{ClientOrderID: req.ClientOrderID, BrokerOrderID: "b-" + req.ClientOrderID, Symbol: req.Symbol,
		Side: req.Side, Amount: req.Amount, State: broker.Open, Expiry: req.Expiry, OpenedAt: time.Now()}
	m.orders[req.ClientOrderID] = o
	return o, nil
}

func (m *mock) GetOrder(_ context.Context, id string) (broker.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.orders[id]; ok {
		return o, nil
	}
	return broker.Order{}, broker.NewError(broker.ErrOrderNotFound, "%s", id)
}

func (m *mock) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	ch := make(chan broker.Order)
	go func() {
		defer close(ch)
		<-ctx.Done()
	}()
	return ch, nil
}

func main() {
	slow := &slowStats{}
	plugin.ServeBroker(func() broker.Broker { return &mock{orders: map[string]broker.Order{}, slow: slow} })
}
