package skeleton

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/market"
)

// Page sizes of Candles: the default when the host asks for none, and
// the most one page holds.
const (
	defaultPageSize = 1000
	maxPageSize     = 5000
)

// Instruments lists the venue's symbols. The venue trades around the
// clock; a venue with trading hours reports Open false outside them.
func (s *session) Instruments(ctx context.Context) ([]broker.Instrument, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var list []instrumentDTO
	if err := s.a.call(ctx, http.MethodGet, "/instruments", "", nil, &list); err != nil {
		return nil, err
	}
	out := make([]broker.Instrument, len(list))
	for i, in := range list {
		out[i] = broker.Instrument{Symbol: in.Symbol, Name: in.Name, Market: in.Market, PayoutPercent: in.Payout,
			Open: true, MinStake: in.MinStake, MaxStake: in.MaxStake}
		for _, sec := range in.Expiries {
			out[i].Expiries = append(out[i].Expiries, time.Duration(sec)*time.Second)
		}
	}
	return out, nil
}

// Candles returns one page of closed candles. The page token is the open
// time of the page's first candle; asking the venue for one candle more
// than the page holds tells whether another page follows, so the last
// page has no token.
func (s *session) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	if err := s.usable(); err != nil {
		return broker.CandlesPage{}, err
	}
	size := req.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	from := req.From
	if req.PageToken != "" {
		t, err := strconv.ParseInt(req.PageToken, 10, 64)
		if err != nil || t < req.From {
			return broker.CandlesPage{}, fmt.Errorf("skeleton: malformed page token %q", req.PageToken)
		}
		from = t
	}
	q := url.Values{}
	q.Set("symbol", req.Symbol)
	q.Set("tf", strconv.FormatInt(req.Timeframe.Seconds(), 10))
	q.Set("from", strconv.FormatInt(from, 10))
	q.Set("limit", strconv.Itoa(size+1))
	if req.To > 0 {
		q.Set("to", strconv.FormatInt(req.To, 10))
	}
	var resp struct {
		Candles []candleDTO `json:"candles"`
	}
	if err := s.a.call(ctx, http.MethodGet, "/candles?"+q.Encode(), "", nil, &resp); err != nil {
		return broker.CandlesPage{}, err
	}
	series := make(market.Series, len(resp.Candles))
	for i, c := range resp.Candles {
		series[i] = c.candle()
	}
	page := broker.CandlesPage{Candles: series}
	if len(series) > size {
		page.Candles, page.NextPageToken = series[:size], strconv.FormatInt(series[size].Time, 10)
	}
	return page, nil
}

// SubscribeCandles streams one symbol's candles from the venue's
// WebSocket. It does not reconnect: when the socket breaks, the stream's
// last event carries broker.ErrUnavailable and the host subscribes again
// and fetches the candles it missed with Candles.
func (s *session) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	q := url.Values{}
	q.Set("symbol", req.Symbol)
	q.Set("tf", strconv.FormatInt(req.Timeframe.Seconds(), 10))
	conn, err := s.a.dial(ctx, "/ws/candles?"+q.Encode(), "")
	if err != nil {
		return nil, err
	}
	ch := make(chan broker.CandleEvent, 64)
	err = s.spawn(ctx, conn, func(ctx context.Context) {
		defer close(ch)
		for {
			var f struct {
				Candle candleDTO `json:"candle"`
				Closed bool      `json:"closed"`
			}
			ev := broker.CandleEvent{}
			if err := wsjson.Read(ctx, conn, &f); err != nil {
				if ctx.Err() != nil {
					return // the caller or Close ended the stream: no error
				}
				ev.Err = broker.NewError(broker.ErrUnavailable, "candle stream: %v", err)
			} else {
				ev.Candle, ev.Closed = f.Candle.candle(), f.Closed
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
			if ev.Err != nil {
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// spawn runs read on a goroutine the session owns. read's context ends
// with the caller's ctx or with Close, and conn is closed when read
// returns; Close waits for it.
func (s *session) spawn(ctx context.Context, conn *websocket.Conn, read func(context.Context)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = conn.CloseNow()
		return errClosed()
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	s.wg.Go(func() {
		defer func() {
			stop()
			cancel()
			_ = conn.CloseNow()
		}()
		read(ctx)
	})
	return nil
}
