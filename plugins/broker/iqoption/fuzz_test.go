package iqoption

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shopspring/decimal"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// FuzzFrameDecoder feeds arbitrary frames through the frame decoder and the whole
// push path of a session with an open order and a candle stream: nothing
// may panic, and a decoded frame always has a name or a request id. The
// seed corpus is every shape of realShapes (docs/brokers/IQOPTION.md §14),
// so `go test` runs it.
func FuzzFrameDecoder(f *testing.F) {
	for _, raw := range realShapes {
		f.Add([]byte(raw))
	}
	f.Add([]byte(`{"name":"position-changed","microserviceName":"portfolio","msg":{"external_id":77,"version":1e30,"invest":"x"}}`))
	f.Add([]byte(`{"name":"candle-generated","microserviceName":"quotes","msg":{"active_id":76,"size":60,"at":"1.5e18","from":-1}}`))
	f.Add([]byte(`{"name":"position-changed","microserviceName":"portfolio","msg":{"external_id":77,"version":2,"status":"closed","close_reason":"win","invest":1,"close_profit":1.87}}`))
	f.Add([]byte(`{"name":"option-rejected","microserviceName":"binary-options","msg":{"option_id":77,"reason":"no_money"}}`))
	f.Add([]byte(`{"name":"commission-changed","microserviceName":"binary-options","msg":{"instrument_type":"turbo-option","active_id":76,"commission":{"value":"12"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := decodeFrame(data)
		if err == nil && fr.Name == "" && fr.RequestID == "" {
			t.Fatalf("decoded a frame with neither name nor request id: %q", data)
		}
		s, c := fuzzSession()
		c.dispatch(context.Background(), nil, data)
		s.mu.Lock()
		defer s.mu.Unlock()
		if rec := s.byOption[77]; rec.o.State.Final() && rec.o.State != broker.Rejected && rec.o.ClosedAt.IsZero() {
			t.Fatalf("final order without a close time: %+v", rec.o)
		}
	})
}

// fuzzSession is a session with order 77 open and a feed for active 76.
func fuzzSession() (*session, *wsClient) {
	a := &Adapter{cfg: Config{}, pending: challenges{m: map[string]challenge{}}}
	s, _ := a.Factory()().(*session)
	s.log = hclog.NewNullLogger()
	c := &wsClient{log: s.log, routes: s.routes(), pending: map[string]*pending{}}
	rec := &orderRec{done: make(chan struct{}), o: broker.Order{ClientOrderID: "x", Amount: decimal.NewFromInt(1), State: broker.Open, Side: market.Call, ExpiresAt: time.Unix(1786214580, 0)}}
	close(rec.done)
	s.orders["x"] = rec
	s.byOption[77] = rec
	rec.optionID = 77
	st := &candleStream{notify: make(chan struct{}, 1), quit: make(chan struct{})}
	s.feeds[feedKey{76, 60}] = &feed{key: feedKey{76, 60}, streams: map[*candleStream]struct{}{st: {}}}
	s.cat = &catalog{bySymbol: map[string]*active{}, byID: map[int64]*active{76: {id: 76, symbol: "EURUSD-OTC", turbo: &kind{typeID: optionTurbo}}}}
	return s, c
}
