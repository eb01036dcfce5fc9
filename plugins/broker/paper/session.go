package paper

import (
	"context"
	"fmt"
	"sync"

	"github.com/stc-trading/stc/sdk/broker"
	"github.com/stc-trading/stc/sdk/schema"
)

// Name and Version identify the adapter in Metadata.
const (
	Name    = "paper"
	Version = "0.1.0"
)

// credentialFields is the credentials schema of Open.
func credentialFields() []schema.Field {
	return []schema.Field{
		{Name: "username", Type: schema.String, Required: true, Description: "Paper account name, 3 to 64 characters; the account is created on first login with 10,000 USD"},
		{Name: "password", Type: schema.String, Required: true, Sensitive: true, Description: "Password of the paper account, set on first login"},
		{Name: "code", Type: schema.String, Sensitive: true, Description: "Second-factor code, when the broker asks for one"},
	}
}

func metadata() broker.Metadata {
	return broker.Metadata{
		Name:        Name,
		Version:     Version,
		DisplayName: "Paper",
		Description: "Practice broker: simulated forex and OTC binary options with deterministic prices and 10,000 USD play-money accounts",
		Credentials: credentialFields(),
		Capabilities: broker.Capabilities{
			CandleStream:        true,
			OrderStream:         true,
			AnonymousMarketData: true,
			SecondFactor:        true,
			RealAccounts:        false,
		},
	}
}

// Factory returns a factory of sessions on m. Sessions are cheap: all
// state lives in the Market.
func (m *Market) Factory() broker.Factory {
	return func() broker.Broker {
		ctx, cancel := context.WithCancel(m.ctx)
		return &session{m: m, ctx: ctx, cancel: cancel}
	}
}

// session is one broker.Broker.
//
// Errors by state: market data (Instruments, Candles, SubscribeCandles)
// works before Open (AnonymousMarketData). Account calls before Open fail
// with an error wrapping broker.ErrAuthFailed ("session not open"): the
// host's answer to both is to log in. Every call after Close fails with
// broker.ErrSessionNotFound, and after Market.Close with
// broker.ErrUnavailable.
type session struct {
	m      *Market
	ctx    context.Context // ends on Close or Market.Close
	cancel context.CancelFunc

	mu     sync.Mutex // guards acct, closed and wg.Add against Close's Wait
	acct   *account
	closed bool
	wg     sync.WaitGroup
}

var (
	_ broker.Broker      = (*session)(nil)
	_ broker.BatchPlacer = (*session)(nil)
)

// Metadata is static, so the host can fingerprint the adapter cheaply.
func (s *session) Metadata() broker.Metadata { return metadata() }

// usableLocked reports why s cannot serve a call, if it cannot; s.mu is
// held.
func (s *session) usableLocked() error {
	if s.closed {
		return broker.NewError(broker.ErrSessionNotFound, "session closed")
	}
	if s.m.ctx.Err() != nil {
		return errShutDown()
	}
	return nil
}

// usable is usableLocked for callers without s.mu.
func (s *session) usable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usableLocked()
}

// opened returns the logged-in account.
func (s *session) opened() (*account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return nil, err
	}
	if s.acct == nil {
		return nil, broker.NewError(broker.ErrAuthFailed, "session not open")
	}
	return s.acct, nil
}

// spawn starts a goroutine owned by both the session and the Market.
func (s *session) spawn(f func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return err
	}
	return s.m.spawn(&s.wg, f)
}

// streamCtx ends when the caller's ctx or the session ends.
func (s *session) streamCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	sub, cancel := context.WithCancel(s.ctx)
	stop := context.AfterFunc(ctx, cancel)
	return sub, func() { stop(); cancel() }
}

// Open logs in, creating the account on first use. Re-opening with the
// same account succeeds; a session stays bound to its first account.
func (s *session) Open(ctx context.Context, req broker.OpenRequest) (broker.Account, error) {
	if err := ctx.Err(); err != nil {
		return broker.Account{}, fmt.Errorf("paper: open: %w", err)
	}
	if err := s.usable(); err != nil {
		return broker.Account{}, err
	}
	if req.Mode != broker.Practice {
		return broker.Account{}, broker.NewError(broker.ErrUnsupported, "mode %s: paper accounts are practice only", req.Mode)
	}
	vals, err := schema.Resolve(credentialFields(), req.Credentials)
	if err != nil {
		return broker.Account{}, fmt.Errorf("%w: %w", broker.ErrAuthFailed, err)
	}
	a, err := s.m.login(ctx, vals.String("username"), vals.String("password"), vals.String("code"))
	if err != nil {
		return broker.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usableLocked(); err != nil {
		return broker.Account{}, err
	}
	if s.acct != nil && s.acct != a {
		return broker.Account{}, broker.NewError(broker.ErrAuthFailed, "session is already open for another account")
	}
	s.acct = a
	return broker.Account{Balance: a.balanceNow(), Currency: currency, AccountRef: a.ref}, nil
}

// Close ends the session's streams and waits for their goroutines, which
// stop promptly once cancelled, so no channel is left open. Idempotent.
func (s *session) Close(context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Instruments lists every symbol with its state at the current market time.
func (s *session) Instruments(ctx context.Context) ([]broker.Instrument, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	now := s.m.clock.unix()
	out := make([]broker.Instrument, 0, len(s.m.instruments))
	for _, in := range s.m.instruments {
		out = append(out, in.info(now))
	}
	return out, nil
}

// Candles returns closed candles; see Market.candles for paging rules.
func (s *session) Candles(ctx context.Context, req broker.CandlesRequest) (broker.CandlesPage, error) {
	if err := s.usable(); err != nil {
		return broker.CandlesPage{}, err
	}
	return s.m.candles(ctx, req)
}

// SubscribeCandles streams the forming and closed candles of one symbol.
func (s *session) SubscribeCandles(ctx context.Context, req broker.SubscribeRequest) (<-chan broker.CandleEvent, error) {
	in, err := s.m.lookup(req.Symbol)
	if err != nil {
		return nil, err
	}
	w, err := lookupTimeframe(req.Timeframe)
	if err != nil {
		return nil, err
	}
	out := make(chan broker.CandleEvent, streamBuffer)
	sub, cancel := s.streamCtx(ctx)
	st := &candleStream{m: s.m, in: in, w: w, start: s.m.clock.unix(), out: out}
	if err := s.spawn(func() {
		defer close(out)
		defer cancel()
		st.run(sub)
	}); err != nil {
		cancel()
		return nil, err
	}
	return out, nil
}

// Balance returns the account's practice balance.
func (s *session) Balance(ctx context.Context) (broker.Balance, error) {
	a, err := s.opened()
	if err != nil {
		return broker.Balance{}, err
	}
	return broker.Balance{Amount: a.balanceNow(), Currency: currency, Mode: broker.Practice}, nil
}

// PlaceOrder opens a binary option; see Market.placeOrder.
func (s *session) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	a, err := s.opened()
	if err != nil {
		return broker.Order{}, err
	}
	return s.m.placeOrder(ctx, a, req)
}

// GetOrder returns an order of the session's account.
func (s *session) GetOrder(ctx context.Context, clientOrderID string) (broker.Order, error) {
	a, err := s.opened()
	if err != nil {
		return broker.Order{}, err
	}
	return s.m.getOrder(a, clientOrderID)
}

// OrderResults streams the settlements of the account's orders (final
// states only: acceptance is PlaceOrder's answer) until ctx or the session
// ends. See orderBuffer for slow consumers.
func (s *session) OrderResults(ctx context.Context) (<-chan broker.Order, error) {
	a, err := s.opened()
	if err != nil {
		return nil, err
	}
	sub, cancel := s.streamCtx(ctx)
	ch, err := s.m.subscribeOrders(sub, a, func(f func()) error {
		return s.spawn(func() { defer cancel(); f() })
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return ch, nil
}

// PlaceOrders opens a batch of binary options with one journal fsync; see
// Market.placeOrders.
func (s *session) PlaceOrders(ctx context.Context, reqs []broker.OrderRequest) ([]broker.OrderResult, error) {
	a, err := s.opened()
	if err != nil {
		return nil, err
	}
	return s.m.placeOrders(ctx, a, reqs)
}
