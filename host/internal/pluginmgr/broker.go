package pluginmgr

import (
	"context"
	"errors"
	"fmt"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/plugin"
)

// BrokerHandle calls a broker adapter through the manager. Sessions are
// opened with OpenSession, which records them for re-opening after a
// restart, and used through Session, whose proxy always reaches the
// process that currently serves the session. It is safe for concurrent
// use and stays valid across restarts.
type BrokerHandle struct {
	m      *Manager
	shared *slot // Info, the anonymous session, and every session of a multiplexing adapter
}

// Info asks the shared process for the adapter's fingerprint.
func (h *BrokerHandle) Info(ctx context.Context) (plugin.Info, error) {
	var info plugin.Info
	err := h.shared.call(ctx, h.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		var err error
		info, err = p.broker.Info(ctx)
		return err
	})
	return info, err
}

// perSession reports an adapter that asked for one process per session.
func (h *BrokerHandle) perSession() bool {
	h.shared.mu.Lock()
	defer h.shared.mu.Unlock()
	return !h.shared.info.Multiplexing
}

// slotFor returns the slot serving session id.
func (h *BrokerHandle) slotFor(id string, create bool) (*slot, error) {
	if id == "" || !h.perSession() {
		return h.shared, nil
	}
	s, err := h.m.slot(h.shared.entry, id, create)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, broker.NewError(broker.ErrSessionNotFound, "session %q is not open (open it with BrokerHandle.OpenSession)", id)
	}
	return s, nil
}

// OpenSession opens session id with the request reopen returns, and
// records reopen so that every later process re-opens the session with
// fresh credentials. For a per-session adapter it starts the session's own
// process first. Opening an open session again replaces its reopen func.
func (h *BrokerHandle) OpenSession(ctx context.Context, id string, reopen ReopenFunc) (broker.Account, error) {
	if id == "" {
		return broker.Account{}, errors.New("pluginmgr: OpenSession needs a session id; the anonymous session is never opened")
	}
	if reopen == nil {
		return broker.Account{}, errors.New("pluginmgr: OpenSession needs a reopen func")
	}
	s, err := h.slotFor(id, true)
	if err != nil {
		return broker.Account{}, err
	}
	var acct broker.Account
	began := false
	begin := func() { s.beginSession(id, reopen); began = true }
	// A new per-session process has to start within the call's time.
	timeout := h.m.opts.CallTimeout + h.m.opts.StartTimeout
	err = s.callWith(ctx, timeout, true, begin, func(ctx context.Context, p *proc) error {
		req, err := reopen(ctx)
		if err != nil {
			return fmt.Errorf("session %q: credentials: %w", id, err)
		}
		acct, err = p.broker.Session(id).Open(ctx, req)
		return err
	})
	left := len(s.snapshotSessions())
	if began {
		left = s.endSession(id, err == nil)
	}
	if err != nil && s != h.shared && left == 0 {
		h.m.dropSlot(s)
	}
	return acct, err
}

// CloseSession forgets session id, so that no restart re-opens it, and
// closes it; a per-session adapter's process stops with its session.
// Closing an unknown session succeeds.
func (h *BrokerHandle) CloseSession(ctx context.Context, id string) error {
	s, err := h.slotFor(id, false)
	if errors.Is(err, broker.ErrSessionNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	left := s.forgetSession(id)
	err = s.call(ctx, h.m.opts.CallTimeout, true, func(ctx context.Context, p *proc) error {
		return p.broker.Session(id).Close(ctx)
	})
	if s != h.shared && left == 0 {
		h.m.dropSlot(s)
	}
	return err
}

// Session returns session id as a broker.Broker whose calls go to the
// process that currently serves it. The empty id is the anonymous
// market-data session. Use OpenSession rather than the proxy's Open,
// which does not record the session for re-opening; the proxy's Close is
// CloseSession.
func (h *BrokerHandle) Session(id string) broker.Broker { return &sessionProxy{h: h, id: id} }

type sessionProxy struct {
	h  *BrokerHandle
	id string
}

var (
	_ broker.Broker      = (*sessionProxy)(nil)
	_ broker.BatchPlacer = (*sessionProxy)(nil)
)

// Metadata is the adapter's metadata from its last GetInfo; it needs no
// process, so it also answers while the plugin restarts.
func (x *sessionProxy) Metadata() broker.Metadata {
	x.h.shared.mu.Lock()
	defer x.h.shared.mu.Unlock()
	return x.h.shared.meta
}

// unary runs one request/response call on the session's process; its
// timeout counts toward a restart.
func (x *sessionProxy) unary(ctx context.Context, f func(ctx context.Context, b broker.Broker) error) error {
	return x.call(ctx, true, f)
}

// call runs one request/response call on the session's process under the
// call timeout; restartable says whether a timeout counts toward a
// restart.
func (x *sessionProxy) call(ctx context.Context, restartable bool, f func(ctx context.Context, b broker.Broker) error) error {
	s, err := x.h.slotFor(x.id, false)
	if err != nil {
		return err
	}
	return s.call(ctx, x.h.m.opts.CallTimeout, restartable, func(ctx context.Context, p *proc) error {
		return f(ctx, p.broker.Session(x.id))
	})
}

// marketData runs one market-data read on the session's process: under
// the market-data concurrency and deadline, and never counted toward a
// restart (Options.MarketDataTimeout).
func (x *sessionProxy) marketData(ctx context.Context, f func(ctx context.Context, b broker.Broker) error) error {
	s, err := x.h.slotFor(x.id, false)
	if err != nil {
		return err
	}
	return s.marketDataCall(ctx, func(ctx context.Context, p *proc) error {
		return f(ctx, p.broker.Session(x.id))
	})
}

// Open opens the session without recording it: a restart will not
// re-open it. Prefer BrokerHandle.OpenSession.
func (x *sessionProxy) Open(ctx context.Context, req broker.OpenRequest) (broker.Account, error) {
	var acct broker.Account
	err := x.unary(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		acct, err = b.Open(ctx, req)
		return err
	})
	return acct, err
}

// Close is BrokerHandle.CloseSession.
func (x *sessionProxy) Close(ctx context.Context) error { return x.h.CloseSession(ctx, x.id) }

// Instruments lists the session's instruments. It is a market-data read,
// so a timeout does not count toward a restart; it does not wait for a
// market-data slot, because validating an order may need it.
func (x *sessionProxy) Instruments(ctx context.Context) ([]broker.Instrument, error) {
	var out []broker.Instrument
	err := x.call(ctx, false, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = b.Instruments(ctx)
		return err
	})
	return out, err
}

// Candles fetches one page of closed candles, as a market-data read
// (Options.MarketDataConcurrency and MarketDataTimeout).
func (x *sessionProxy) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	var out broker.CandlesPage
	err := x.marketData(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = b.Candles(ctx, req)
		return err
	})
	return out, err
}

// Balance returns the account balance.
func (x *sessionProxy) Balance(ctx context.Context) (broker.Balance, error) {
	var out broker.Balance
	err := x.unary(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = b.Balance(ctx)
		return err
	})
	return out, err
}

// PlaceOrder is sent at most once: after ErrPluginExited or a timeout the
// outcome is unknown, and only GetOrder(ClientOrderID) can tell.
func (x *sessionProxy) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	var out broker.Order
	err := x.unary(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = b.PlaceOrder(ctx, req)
		return err
	})
	return out, err
}

// PlaceOrders places a batch in one call to the session's process (a
// plugin built before PlaceOrders gets one PlaceOrder per order). Like
// PlaceOrder it is sent at most once, and the whole batch shares one
// CallTimeout: a call error (ErrPluginExited, a timeout) leaves every
// order's outcome unknown until GetOrder tells; per-order errors are the
// adapter's answers for those orders.
func (x *sessionProxy) PlaceOrders(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	var out []broker.OrderResult
	err := x.unary(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = broker.PlaceOrders(ctx, b, reqs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetOrder looks an order up by client order id.
func (x *sessionProxy) GetOrder(ctx context.Context, clientOrderID string) (broker.Order, error) {
	var out broker.Order
	err := x.unary(ctx, func(ctx context.Context, b broker.Broker) error {
		var err error
		out, err = b.GetOrder(ctx, clientOrderID)
		return err
	})
	return out, err
}

// stream finds the session's process for a long-lived stream: waiting
// for it is bounded by CallTimeout, the stream itself only by ctx.
func (x *sessionProxy) stream(ctx context.Context) (*slot, *proc, error) {
	s, err := x.h.slotFor(x.id, false)
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := withDefaultTimeout(ctx, x.h.m.opts.CallTimeout)
	defer cancel()
	p, err := s.acquire(wctx)
	return s, p, err
}

// SubscribeCandles streams candle events. When the process dies the last
// event's Err matches ErrPluginExited; subscribe again after the restart.
func (x *sessionProxy) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	s, p, err := x.stream(ctx)
	if err != nil {
		return nil, err
	}
	in, err := p.broker.Session(x.id).SubscribeCandles(ctx, req)
	if err != nil {
		return nil, s.outcome(ctx, p, false, err)
	}
	out := make(chan broker.CandleEvent, cap(in))
	go func() { // owned by the stream: ends when the SDK closes in (stream end or ctx)
		defer close(out)
		for ev := range in {
			if ev.Err != nil {
				ev.Err = s.outcome(ctx, p, false, ev.Err)
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				for range in { // the SDK closes in promptly once ctx ends
				}
				return
			}
		}
	}()
	return out, nil
}

// OrderResults streams order changes; the channel closes when the stream
// ends, including when the process dies (then poll GetOrder).
func (x *sessionProxy) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	s, p, err := x.stream(ctx)
	if err != nil {
		return nil, err
	}
	ch, err := p.broker.Session(x.id).OrderResults(ctx)
	if err != nil {
		return nil, s.outcome(ctx, p, false, err)
	}
	return ch, nil
}
