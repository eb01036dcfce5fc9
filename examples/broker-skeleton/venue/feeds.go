package venue

import (
	"context"
	"hash/fnv"
	"math"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// instrument is one symbol of the venue.
type instrument struct {
	symbol, name, market string
	base                 float64 // the level the price oscillates around
	payout               float64
}

func instruments() []instrument {
	return []instrument{
		{"EURUSD", "Euro / US Dollar", "forex", 1.0842, 85},
		{"GBPUSD", "Pound / US Dollar", "forex", 1.2661, 82},
		{"BTCUSD", "Bitcoin / US Dollar", "crypto", 65000, 78},
	}
}

func lookup(symbol string) (instrument, bool) {
	for _, in := range instruments() {
		if in.symbol == symbol {
			return in, true
		}
	}
	return instrument{}, false
}

// price is the quote at a Unix second: a few waves, so candles move.
func (in instrument) price(sec int64) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(in.symbol))
	phase, x := float64(h.Sum32()%1000), float64(sec)
	return in.base * (1 + 0.003*math.Sin(x/900+phase) + 0.001*math.Sin(x/97+2*phase) + 0.0004*math.Sin(x/7+3*phase))
}

// candle is a candle as the venue sends it.
type candle struct {
	T int64   `json:"t"`
	O float64 `json:"o"`
	H float64 `json:"h"`
	L float64 `json:"l"`
	C float64 `json:"c"`
	V float64 `json:"v"`
}

// candle aggregates the quotes of [t, end) of a candle opening at t: 60
// samples whatever the timeframe, which is plenty for a fake.
func (in instrument) candle(t, tf, end int64) candle {
	step := max(tf/60, 1)
	c := candle{T: t, O: in.price(t), H: in.price(t), L: in.price(t)}
	for sec := t; sec < end; sec += step {
		p := in.price(sec)
		c.H, c.L, c.C, c.V = max(c.H, p), min(c.L, p), p, c.V+1
	}
	return c
}

// track registers a WebSocket connection for DropStreams and Close; it
// reports false once the venue is closed.
func (s *Server) track(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.CloseNow()
	s.wg.Done()
}

// accept upgrades r and returns the connection with a context that ends
// when the client goes away or the venue closes.
func (s *Server) accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, context.Context, bool) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil, nil, false // Accept answered the client
	}
	if !s.track(c) {
		_ = c.CloseNow()
		return nil, nil, false
	}
	return c, c.CloseRead(s.ctx), true
}

// streamCandles pushes the forming candle every 50 ms of wall time and
// each candle once more, with closed set, when it closes.
func (s *Server) streamCandles(w http.ResponseWriter, r *http.Request) {
	in, tf, ok := marketQuery(w, r)
	if !ok {
		return
	}
	c, ctx, ok := s.accept(w, r)
	if !ok {
		return
	}
	defer s.untrack(c)
	next := s.Now().Unix() / tf * tf // open time of the forming candle
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		now := s.Now().Unix()
		for ; next+tf <= now; next += tf {
			if wsjson.Write(ctx, c, map[string]any{"candle": in.candle(next, tf, next+tf), "closed": true}) != nil {
				return
			}
		}
		if wsjson.Write(ctx, c, map[string]any{"candle": in.candle(next, tf, now+1), "closed": false}) != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// streamOrders pushes each order of a when it settles.
func (s *Server) streamOrders(w http.ResponseWriter, r *http.Request, a *account) {
	c, ctx, ok := s.accept(w, r)
	if !ok {
		return
	}
	defer s.untrack(c)
	ch, cancel := s.subscribe(a)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-ch:
			if wsjson.Write(ctx, c, o) != nil {
				return
			}
		}
	}
}
