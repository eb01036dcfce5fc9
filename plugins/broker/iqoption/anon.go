package iqoption

import (
	"context"
	"errors"
	"sync"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// errNoLender is the anonymous session's answer while no account of the
// process is logged in.
const errNoLender = "no IQ Option account is connected yet: IQ Option serves market data only to a logged-in account, so connect one first"

// lenders are the open sessions of the process, oldest first. The
// anonymous (never opened) session serves market data through one of
// them: quotes are the same for every user.
type lenders struct {
	mu   sync.Mutex
	list []*session
}

func (l *lenders) add(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, have := range l.list {
		if have == s {
			return
		}
	}
	l.list = append(l.list, s)
}

func (l *lenders) remove(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, have := range l.list {
		if have == s {
			l.list = append(l.list[:i:i], l.list[i+1:]...)
			return
		}
	}
}

// pick returns the oldest live session not in skip, or nil. Staying with
// the oldest means every anonymous stream of a symbol shares one upstream
// subscription (the lender's feed) until that session ends.
func (l *lenders) pick(skip map[*session]bool) *session {
	l.mu.Lock()
	list := append([]*session(nil), l.list...)
	l.mu.Unlock()
	for _, s := range list {
		if skip[s] {
			continue
		}
		if _, err := s.client(); err == nil {
			return s
		}
	}
	return nil
}

// anonymous reports whether s is the never-opened market-data session.
func (s *session) anonymous() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c == nil && !s.closed
}

// borrow runs fn on a live session of the process, trying the next one
// when the chosen session ends under fn or cannot answer now (its socket
// is reconnecting). With none it is ErrUnavailable.
func borrow[T any](ctx context.Context, a *Adapter, fn func(*session) (T, error)) (T, error) {
	var zero T
	tried := map[*session]bool{}
	var last error
	for {
		l := a.lenders.pick(tried)
		if l == nil {
			if last != nil {
				return zero, last
			}
			return zero, broker.NewError(broker.ErrUnavailable, errNoLender)
		}
		v, err := fn(l)
		if err == nil {
			return v, nil
		}
		if !tryAnother(ctx, l, err) {
			return zero, err // the lender answered: the answer stands
		}
		tried[l], last = true, err
	}
}

// tryAnother reports whether err from lender l is l's trouble rather than
// an answer: l ended, or it is unavailable for now.
func tryAnother(ctx context.Context, l *session, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if _, lerr := l.client(); lerr != nil {
		return true
	}
	return errors.Is(err, broker.ErrUnavailable)
}

// subscribeAnonymous relays a candle stream of a borrowed session. When
// that stream ends (the lender closed or its socket died for good) it
// subscribes through another live session, first delivering from history
// the candles that closed in between, so closed candles stay in order and
// each is delivered once. With no session left the stream ends with
// ErrUnavailable.
func (s *session) subscribeAnonymous(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	size, err := timeframeSize(req.Timeframe)
	if err != nil {
		return nil, err
	}
	lender, in, stop, err := s.a.borrowStream(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		stop()
		return nil, broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	s.wg.Add(1)
	s.mu.Unlock()
	out := make(chan broker.CandleEvent, streamBuffer)
	r := &relay{s: s, req: req, size: size, out: out}
	go func() {
		defer s.wg.Done()
		defer close(out)
		r.run(ctx, lender, in, stop)
	}()
	return out, nil
}

// borrowStream subscribes through the first live session not in skip
// that accepts the subscription. stop ends the borrowed stream.
func (a *Adapter) borrowStream(ctx context.Context, req broker.SubscribeRequest, skip map[*session]bool) (*session, <-chan broker.CandleEvent, context.CancelFunc, error) {
	if skip == nil {
		skip = map[*session]bool{}
	}
	var last error
	for {
		l := a.lenders.pick(skip)
		if l == nil {
			if last != nil {
				return nil, nil, nil, last
			}
			return nil, nil, nil, broker.NewError(broker.ErrUnavailable, errNoLender)
		}
		sctx, stop := context.WithCancel(ctx)
		in, err := l.SubscribeCandles(sctx, req)
		if err == nil {
			return l, in, stop, nil
		}
		stop()
		if !tryAnother(ctx, l, err) {
			return nil, nil, nil, err // refused by a live session: e.g. unknown symbol
		}
		skip[l] = true
		last = err
	}
}

// relay is one anonymous candle stream.
type relay struct {
	s          *session
	req        broker.SubscribeRequest
	size       int64
	out        chan<- broker.CandleEvent
	lastClosed int64 // open time of the last closed candle delivered
}

// run forwards the borrowed stream in, moving to another lender when it
// ends, until ctx ends or the anonymous session is closed.
func (r *relay) run(ctx context.Context, lender *session, in <-chan broker.CandleEvent, stop context.CancelFunc) {
	defer func() { stop() }()
	skip := map[*session]bool{}
	for {
		more, endErr := r.forward(ctx, in)
		stop()
		if !more {
			return
		}
		if endErr != nil {
			plugin.Logger(ctx).Debug("borrowed candle stream ended", "symbol", r.req.Symbol, "error", endErr)
		}
		skip[lender] = true
		next, nextIn, nextStop, err := r.s.a.borrowStream(ctx, r.req, skip)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.send(ctx, broker.CandleEvent{Err: err})
			return
		}
		plugin.Logger(ctx).Debug("anonymous candle stream moved to another account's connection", "symbol", r.req.Symbol, "timeframe", r.req.Timeframe.String())
		lender, in, stop = next, nextIn, nextStop
		if !r.catchUp(ctx, lender) {
			return
		}
	}
}

// forward delivers in until it ends (more, with the stream's error if it
// carried one) or the relay must stop (!more).
func (r *relay) forward(ctx context.Context, in <-chan broker.CandleEvent) (more bool, endErr error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-r.s.closing:
			return false, nil
		case ev, open := <-in:
			if !open {
				return true, nil
			}
			if ev.Err != nil {
				return true, ev.Err
			}
			if !r.deliver(ctx, ev) {
				return false, nil
			}
		}
	}
}

// deliver sends ev unless its candle is not after the last closed one.
func (r *relay) deliver(ctx context.Context, ev broker.CandleEvent) bool {
	if ev.Candle.Time <= r.lastClosed {
		return true
	}
	if ev.Closed {
		r.lastClosed = ev.Candle.Time
	}
	return r.send(ctx, ev)
}

func (r *relay) send(ctx context.Context, ev broker.CandleEvent) bool {
	select {
	case r.out <- ev:
		return true
	case <-ctx.Done():
	case <-r.s.closing:
	}
	return false
}

// catchUp delivers from the new lender's history the candles that closed
// since the last one delivered. A failure is logged and left to the
// reader, who sees the jump in open times.
func (r *relay) catchUp(ctx context.Context, lender *session) bool {
	if r.lastClosed == 0 {
		return true
	}
	req := broker.CandlesRequest{Symbol: r.req.Symbol, Timeframe: r.req.Timeframe, From: r.lastClosed + r.size, PageSize: maxPageSize}
	for range 4 {
		page, err := lender.Candles(ctx, req)
		if err != nil {
			plugin.Logger(ctx).Warn("candle catch-up after moving the anonymous stream failed", "symbol", r.req.Symbol, "error", err)
			return ctx.Err() == nil
		}
		for _, c := range page.Candles {
			if !r.deliver(ctx, broker.CandleEvent{Candle: c, Closed: true}) {
				return false
			}
		}
		if page.NextPageToken == "" {
			return true
		}
		req.PageToken = page.NextPageToken
	}
	return true
}
